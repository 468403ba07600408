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

live_decisions as (

    select * from {{ ref('int_loans__latest_live_decision') }}

),

{% if is_incremental() -%}

{#- A table built before the live columns existed has none to compare with: its loans with
    a live decision are all changed (on_schema_change appends the columns). -#}
{%- set built_columns = adapter.get_columns_in_relation(this) | map(attribute='name')
    | map('lower') | list -%}
{%- set built_live = 'live_event_id' in built_columns -%}

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
    union
    -- Loans whose latest live decision changed (or went away).
    {% if built_live -%}
        select coalesce(live_decisions.loan_id, built_live.loan_id) as loan_id
        from live_decisions
        full outer join (
            select loan_id, live_event_id, live_decided_at from {{ this }}
            where live_event_id is not null
        ) as built_live on live_decisions.loan_id = built_live.loan_id
        where
            live_decisions.live_event_id is distinct from built_live.live_event_id
            or live_decisions.live_decided_at is distinct from built_live.live_decided_at
    {%- else -%}
        -- (built before the live columns existed: every loan with a live decision)
        select loan_id from live_decisions
    {%- endif %}

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
        predictions.model_run_id,
        predictions.model_top_features,
        live_decisions.live_event_id,
        live_decisions.live_decided_at,
        live_decisions.live_model_run_id,
        live_decisions.live_pd,
        live_decisions.live_risk_decile,
        live_decisions.live_risk_tier,
        live_decisions.live_reason_codes
    from loans
    left join predictions on loans.loan_id = predictions.loan_id
    left join live_decisions on loans.loan_id = live_decisions.loan_id

),

with_effective_pd as (

    -- The PD the model trigger reads: the current champion's batch prediction first; the
    -- latest live decision only for loans the batch scoring has not reached.
    select
        *,
        coalesce(pd, live_pd) as effective_pd,
        case
            when pd is not null then 'batch'
            when live_pd is not null then 'live'
        end as effective_pd_source
    from scored

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
        is_original_rule_watchlist,
        rule_reason_codes,
        risk_tier,
        loan_status,
        meets_credit_policy,
        outcome,
        outcome = 'default' as is_default,
        outcome <> 'unresolved' as is_resolved,
        first_default_date,
        months_to_default,
        total_pymnt,
        total_rec_prncp,
        recoveries,
        collection_recovery_fee,
        out_prncp,
        last_pymnt_date,
        pd,
        risk_decile,
        model_run_id,
        model_top_features,
        live_event_id,
        live_decided_at,
        live_model_run_id,
        live_pd,
        live_risk_decile,
        live_risk_tier,
        live_reason_codes,
        effective_pd,
        effective_pd_source,
        coalesce(effective_pd >= {{ var('watchlist_pd_min') }}, false) as is_model_watchlist,
        last_landed_at,
        last_staged_at
    from with_effective_pd

)

select * from final
