{{ config(
    materialized='incremental',
    incremental_strategy='append',
    indexes=([
        {'columns': ['event_id'], 'unique': true},
        {'columns': ['staged_at']},
        {'columns': ['loan_id']},
    ] if target.type == 'postgres' else []),
) }}

{%- set payload_keys = [
    'loan_status',
    'as_of_d',
    'total_pymnt',
    'total_rec_prncp',
    'recoveries',
    'out_prncp',
    'last_pymnt_d',
    'last_pymnt_amnt'
] %}

{%- set known_statuses = [
    'Current', 'In Grace Period', 'Late (16-30 days)', 'Late (31-120 days)', 'Fully Paid',
    'Charged Off', 'Default'
] %}

with

new_events as (

    {{ unstaged_events(source('loan_events', 'loan_performance')) }}

),

fields as (

    {{ event_fields('new_events', payload_keys) }}

),

statuses as (

    select
        *,
        trim(loan_status_text) as loan_status_trimmed
    from fields

),

final as (

    select
        event_id,
        loan_id,
        occurred_at,
        landed_at,
        source,
        batch_id,
        staged_at,
        coalesce(cast(occurred_at as date), cast(as_of_d_text as date)) as as_of_date,
        -- 'Does not meet the credit policy. Status:Fully Paid' is a Fully Paid loan
        -- issued outside the credit policy.
        replace(loan_status_trimmed, 'Does not meet the credit policy. Status:', '')
            as loan_status,
        loan_status_trimmed not like 'Does not meet the credit policy.%' as meets_credit_policy,
        loan_status_trimmed as loan_status_raw,
        case
            when loan_status_trimmed in ('Charged Off', 'Default') then 'default'
            when loan_status_trimmed = 'Does not meet the credit policy. Status:Charged Off'
                then 'default'
            when loan_status_trimmed = 'Fully Paid' then 'good'
            when loan_status_trimmed = 'Does not meet the credit policy. Status:Fully Paid'
                then 'good'
            else 'unresolved'
        end as outcome,
        coalesce(
            replace(loan_status_trimmed, 'Does not meet the credit policy. Status:', '') not in ('{{ known_statuses | join("', '") }}'),  -- noqa: LT05
            true
        ) as loan_status_unknown,
        {{ lc_number('total_pymnt_text') }} as total_pymnt,
        {{ lc_number('total_rec_prncp_text') }} as total_rec_prncp,
        {{ lc_number('recoveries_text') }} as recoveries,
        {{ lc_number('out_prncp_text') }} as out_prncp,
        {{ lc_month_date('last_pymnt_d_text', 'extract(year from landed_at)') }} as last_pymnt_date,  -- noqa: LT05
        {{ lc_number('last_pymnt_amnt_text') }} as last_pymnt_amnt
    from statuses

)

select * from final
