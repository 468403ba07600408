with

loans as (

    select * from {{ ref('fct_loans') }}

),

triggers as (

    select
        *,
        is_rule_watchlist as trips_rule,
        loan_status in ('In Grace Period', 'Late (16-30 days)', 'Late (31-120 days)')
            as trips_behaviour,
        -- The champion's batch PD, else the latest live decision's (fct_loans.effective_pd).
        is_model_watchlist as trips_model
    from loans
    where outcome = 'unresolved'

),

final as (

    select
        loan_id,
        issue_date,
        as_of_date,
        months_on_book,
        grade,
        loan_amnt,
        int_rate,
        dti,
        revol_util,
        delinq_2yrs,
        inq_last_6mths,
        loan_status,
        risk_tier,
        trips_rule,
        trips_behaviour,
        trips_model,
        pd,
        risk_decile,
        model_run_id,
        live_decided_at,
        live_model_run_id,
        live_pd,
        live_risk_decile,
        live_reason_codes,
        effective_pd,
        effective_pd_source,
        -- Every trigger fired, most serious first, e.g. 'BEHAVIOUR_GRACE;MODEL_PD;RULE_LEVERAGE_STRESS'.
        trim(
            both ';' from
            case loan_status
                when 'In Grace Period' then 'BEHAVIOUR_GRACE'
                when 'Late (16-30 days)' then 'BEHAVIOUR_LATE_16_30'
                when 'Late (31-120 days)' then 'BEHAVIOUR_LATE_31_120'
                else ''
            end
            || case when trips_model then ';MODEL_PD' else '' end
            || case when trips_rule then ';RULE_LEVERAGE_STRESS' else '' end
        ) as reason_codes,
        (case when trips_behaviour then 2 else 0 end)
        + (case when trips_model then 1 else 0 end)
        + (case when trips_rule then 1 else 0 end) as severity
    from triggers
    where trips_rule or trips_behaviour or trips_model

)

select * from final
