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

with

new_events as (

    -- Version 1: an export row's snapshot (payment-history months are version 2).
    {{ unstaged_events(source('loan_events', 'loan_performance'), schema_versions=[1]) }}

),

fields as (

    {{ event_fields('new_events', payload_keys) }}

),

statuses as (

    select
        *,
        trim(loan_status_text) as loan_status_trimmed,
        {{ parsed_columns(fields) }}
    from ({{ with_month_parts('fields', fields) }}) as with_parts

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
        {{ loan_status_unprefixed('loan_status_trimmed') }} as loan_status,
        loan_status_trimmed not like 'Does not meet the credit policy.%' as meets_credit_policy,
        loan_status_trimmed as loan_status_raw,
        {{ loan_outcome(loan_status_unprefixed('loan_status_trimmed')) }} as outcome,
        coalesce(
            {{ loan_status_unprefixed('loan_status_trimmed') }}
            not in ('{{ known_loan_statuses() | join("', '") }}'),  -- noqa: LT05
            true
        ) as loan_status_unknown,
        total_pymnt,
        total_rec_prncp,
        recoveries,
        collection_recovery_fee,
        out_prncp,
        last_pymnt_date,
        last_pymnt_amnt,
        -- Cleaning flags: a value was present but could not be read, so it became null.
        loan_id is null as loan_id_invalid,
        {{ flag_columns(fields) }}
    from statuses

)

select * from final
