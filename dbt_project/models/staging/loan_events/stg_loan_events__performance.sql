{{ config(
    materialized='incremental',
    incremental_strategy='append',
    indexes=([
        {'columns': ['event_id'], 'unique': true},
        {'columns': ['staged_at']},
        {'columns': ['loan_id']},
    ] if target.type == 'postgres' else []),
) }}

{%- set fields = performance_fields() %}
{%- set payload_keys = ['loan_status'] + fields | map(attribute='key') | list %}

{%- set known_statuses = [
    'Current', 'Issued', 'In Grace Period', 'Late (16-30 days)', 'Late (31-120 days)',
    'Fully Paid', 'Charged Off', 'Default'
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
        trim(loan_status_text) as loan_status_trimmed,
        {{ parsed_columns(fields) }}
    from fields

),

final as (

    select
        event_id,
        loan_id,
        occurred_at,
        landed_at,
        commit_seq,
        source_offset,
        source,
        batch_id,
        staged_at,
        cast(occurred_at as date) as as_of_date,
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
        total_pymnt,
        total_rec_prncp,
        recoveries,
        out_prncp,
        last_pymnt_date,
        last_pymnt_amnt,
        -- Cleaning flags: a value was present but could not be read, so it became null.
        loan_id is null as loan_id_invalid,
        {{ flag_columns(fields) }}
    from statuses

)

select * from final
