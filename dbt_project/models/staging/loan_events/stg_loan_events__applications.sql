{{ config(
    materialized='incremental',
    incremental_strategy='append',
    indexes=([
        {'columns': ['event_id'], 'unique': true},
        {'columns': ['staged_at']},
        {'columns': ['loan_id']},
    ] if target.type == 'postgres' else []),
) }}

{%- set fields = application_fields() %}
{%- set payload_keys = fields | map(attribute='key') | list + application_text_fields() %}

with

new_events as (

    {{ unstaged_events(source('loan_events', 'loan_applications')) }}

),

fields as (

    {{ event_fields('new_events', payload_keys) }}

),

parsed as (

    select
        *,
        {{ parsed_columns(fields, stage=1) }}
    from ({{ with_month_parts('fields', fields) }}) as with_parts

),

dated as (

    select
        *,
        {{ parsed_columns(fields, stage=2) }}
    from parsed

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
        loan_amnt,
        funded_amnt,
        term_months,
        int_rate,
        installment,
        grade_text as grade,
        sub_grade_text as sub_grade,
        emp_title_text as emp_title,
        emp_length_years,
        home_ownership_text as home_ownership,
        annual_inc,
        verification_status_text as verification_status,
        issue_date,
        purpose_text as purpose,
        title_text as title,
        zip_code_text as zip_code,
        addr_state_text as addr_state,
        case
            when dti_reported >= 0 and dti_reported <= {{ var('dti_max_valid') }} then dti_reported
        end as dti,
        case
            when dti_text is null or trim(dti_text) = '' then 'missing'
            when dti_reported is null then 'unparseable'
            when dti_reported = 999 then 'sentinel_999'
            when dti_reported > {{ var('dti_max_valid') }} then 'above_max'
            when dti_reported < 0 then 'negative'
        end as dti_quality_flag,
        delinq_2yrs,
        earliest_cr_line_date,
        fico_range_low,
        fico_range_high,
        inq_last_6mths,
        mths_since_last_delinq,
        open_acc,
        pub_rec,
        revol_bal,
        revol_util,
        total_acc,
        mort_acc,
        pub_rec_bankruptcies,
        application_type_text as application_type,
        -- Cleaning flags: a value was present but could not be read, so it became null.
        loan_id is null as loan_id_invalid,
        {{ flag_columns(fields) }}
    from dated

)

select * from final
