{{ config(
    materialized='incremental',
    incremental_strategy='append',
    indexes=([
        {'columns': ['event_id'], 'unique': true},
        {'columns': ['staged_at']},
        {'columns': ['loan_id']},
    ] if target.type == 'postgres' else []),
) }}

{%- set fields = loan_month_fields() %}
{%- set payload_keys = ['period_end_lstat', 'grade'] + fields | map(attribute='key') | list %}

with

new_events as (

    -- Version 2: one loan-month of a payment-history file (ingest/payment_history.py).
    {{ unstaged_events(source('loan_events', 'loan_performance'), schema_versions=[2]) }}

),

fields as (

    {{ event_fields('new_events', payload_keys) }}

),

parsed as (

    select
        *,
        trim(period_end_lstat_text) as loan_status_trimmed,
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
        -- The month, whatever time of it a producer stamped on the event.
        cast({{ dbt.date_trunc('month', 'occurred_at') }} as date) as month_date,
        {{ loan_status_unprefixed('loan_status_trimmed') }} as loan_status,
        loan_status_trimmed as loan_status_raw,
        {{ loan_outcome(loan_status_unprefixed('loan_status_trimmed')) }} as outcome,
        coalesce(
            {{ loan_status_unprefixed('loan_status_trimmed') }}
            not in ('{{ known_loan_statuses() | join("', '") }}'),  -- noqa: LT05
            true
        ) as loan_status_unknown,
        nullif(trim(grade_text), '') as reported_grade,
        reported_months_on_book,
        reported_issue_date,
        balance_begin,
        balance_end,
        amount_due,
        amount_received,
        received_date,
        principal_paid,
        interest_paid,
        fee_paid,
        coalesce(charged_off_flag = 1, false) as is_charged_off_flag,
        charged_off_amount,
        -- Cleaning flags: a value was present but could not be read, so it became null.
        loan_id is null as loan_id_invalid,
        {{ flag_columns(fields) }}
    from parsed

)

select * from final
