{{ config(
    materialized='incremental',
    unique_key='loan_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    indexes=([
        {'columns': ['loan_id'], 'unique': true},
        {'columns': ['last_staged_at']},
    ] if target.type == 'postgres' else []),
) }}

with

predictions as (

    select * from {{ ref('int_loans__champion_predictions') }}

),

{% if is_incremental() -%}

changed_loans as (

    -- Loans with new events, and loans whose champion prediction changed (or went away).
    select loan_id from {{ ref('int_loans__rule_banded') }}
    where {{ staged_after_watermark('last_staged_at') }}
    union
    select coalesce(predictions.loan_id, built.loan_id) as loan_id
    from predictions
    full outer join (
        select loan_id, model_run_id from {{ this }}
        where model_run_id is not null
    ) as built on predictions.loan_id = built.loan_id
    where predictions.model_run_id is distinct from built.model_run_id

),

{% endif -%}

loans as (

    select * from {{ ref('int_loans__rule_banded') }}
    {% if is_incremental() -%}
        where loan_id in (select loan_id from changed_loans)
    {%- endif %}

),

scored as (

    select
        loans.*,
        predictions.pd,
        predictions.risk_decile,
        predictions.model_run_id
    from loans
    left join predictions on loans.loan_id = predictions.loan_id

),

final as (

    select
        loan_id,
        issue_date,
        as_of_date,
        months_on_book,
        loan_amnt,
        funded_amnt,
        term_months,
        int_rate,
        installment,
        grade,
        sub_grade,
        emp_length_years,
        home_ownership,
        annual_inc,
        verification_status,
        purpose,
        addr_state,
        dti,
        dti_quality_flag,
        revol_util,
        revol_bal,
        delinq_2yrs,
        inq_last_6mths,
        fico_range_low,
        fico_range_high,
        open_acc,
        pub_rec,
        total_acc,
        mort_acc,
        pub_rec_bankruptcies,
        application_type,
        credit_history_years,
        dti_band,
        revol_util_band,
        int_rate_band,
        is_high_leverage,
        has_credit_stress,
        is_rule_watchlist,
        risk_tier,
        loan_status,
        meets_credit_policy,
        outcome,
        outcome = 'default' as is_default,
        outcome <> 'unresolved' as is_resolved,
        first_default_date,
        months_to_default,
        total_pymnt,
        recoveries,
        out_prncp,
        last_pymnt_date,
        pd,
        risk_decile,
        model_run_id,
        coalesce(pd >= {{ var('watchlist_pd_min') }}, false) as is_model_watchlist,
        last_landed_at,
        last_staged_at
    from scored

)

select * from final
