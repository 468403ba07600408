with

loans as (

    select * from {{ ref('fct_loans') }}

),

expected_losses as (

    select * from {{ ref('fct_loan_expected_loss') }}

),

behaviour_scores as (

    select * from {{ ref('int_loans__behaviour_scores') }}

),

triggers as (

    select
        loans.*,
        behaviour_scores.behaviour_month,
        behaviour_scores.behaviour_pd,
        behaviour_scores.behaviour_top_features,
        loans.is_rule_watchlist as trips_rule,
        {{ behaviour_trigger('loans.loan_status') }} as trips_behaviour,
        -- The origination PD (the champion's batch PD, else the latest live decision's:
        -- fct_loans.effective_pd), or the behavioural score of the loan's latest month.
        {{ behaviour_model_trigger('behaviour_scores.behaviour_pd') }} as trips_behaviour_model,
        {{ model_trigger('loans.is_model_watchlist', 'behaviour_scores.behaviour_pd') }}
            as trips_model
    from loans
    left join behaviour_scores on loans.loan_id = behaviour_scores.loan_id
    where loans.outcome = 'unresolved'

),

scored as (

    select
        triggers.*,
        expected_losses.lgd,
        expected_losses.expected_loss,
        -- Severity grows with days past due, with each further trigger and with exposure.
        case triggers.loan_status
            when 'In Grace Period' then 2
            when 'Late (16-30 days)' then 3
            when 'Late (31-120 days)' then 4
            else 0
        end
        + (case when triggers.trips_model then 1 else 0 end)
        + (case when triggers.trips_rule then 1 else 0 end)
        + {{ exposure_points('triggers.out_prncp') }} as severity
    from triggers
    left join expected_losses on triggers.loan_id = expected_losses.loan_id
    where triggers.trips_rule or triggers.trips_behaviour or triggers.trips_model

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
        trips_behaviour_model,
        pd,
        risk_decile,
        model_run_id,
        model_top_features,
        live_decided_at,
        live_model_run_id,
        live_pd,
        live_risk_decile,
        live_reason_codes,
        effective_pd,
        effective_pd_source,
        behaviour_month,
        behaviour_pd,
        behaviour_top_features,
        out_prncp,
        lgd,
        expected_loss,
        -- Every trigger fired, most serious first, the rule's as one reason per condition met,
        -- e.g. 'BEHAVIOUR_GRACE;MODEL_PD;BEHAVIOUR_PD;DTI>=30;INQ_LAST_6MTHS>=2'.
        trim(
            both ';' from
            case loan_status
                when 'In Grace Period' then 'BEHAVIOUR_GRACE'
                when 'Late (16-30 days)' then 'BEHAVIOUR_LATE_16_30'
                when 'Late (31-120 days)' then 'BEHAVIOUR_LATE_31_120'
                else ''
            end
            || case when is_model_watchlist then ';MODEL_PD' else '' end
            || case when trips_behaviour_model then ';BEHAVIOUR_PD' else '' end
            || case when trips_rule then ';' || rule_reason_codes else '' end
        ) as reason_codes,
        severity,
        -- The order to read the list in: severity, then expected loss (unknown last).
        cast(row_number() over (
            order by severity desc, coalesce(expected_loss, -1) desc, loan_id asc
        ) as integer) as watchlist_rank
    from scored

)

select * from final
