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
    'loan_amnt',
    'funded_amnt',
    'term',
    'int_rate',
    'installment',
    'grade',
    'sub_grade',
    'emp_title',
    'emp_length',
    'home_ownership',
    'annual_inc',
    'verification_status',
    'issue_d',
    'purpose',
    'title',
    'zip_code',
    'addr_state',
    'dti',
    'delinq_2yrs',
    'earliest_cr_line',
    'fico_range_low',
    'fico_range_high',
    'inq_last_6mths',
    'mths_since_last_delinq',
    'open_acc',
    'pub_rec',
    'revol_bal',
    'revol_util',
    'total_acc',
    'mort_acc',
    'pub_rec_bankruptcies',
    'application_type'
] %}

with

new_events as (

    {{ unstaged_events(source('loan_events', 'loan_applications')) }}

),

fields as (

    {{ event_fields('new_events', payload_keys) }}

),

parsed as (

    select
        event_id,
        loan_id,
        occurred_at,
        landed_at,
        source,
        batch_id,
        staged_at,
        {{ lc_number('loan_amnt_text') }} as loan_amnt,
        {{ lc_number('funded_amnt_text') }} as funded_amnt,
        {{ lc_term_months('term_text') }} as term_months,
        term_text,
        {{ lc_number('int_rate_text') }} as int_rate,
        int_rate_text,
        {{ lc_number('installment_text') }} as installment,
        grade_text as grade,
        sub_grade_text as sub_grade,
        emp_title_text as emp_title,
        {{ lc_emp_length_years('emp_length_text') }} as emp_length_years,
        emp_length_text,
        home_ownership_text as home_ownership,
        {{ lc_number('annual_inc_text') }} as annual_inc,
        annual_inc_text,
        verification_status_text as verification_status,
        -- A loan cannot be issued after it landed: that bounds a two-digit issue year.
        {{ lc_month_date('issue_d_text', 'extract(year from landed_at)') }} as issue_date,
        issue_d_text,
        purpose_text as purpose,
        title_text as title,
        zip_code_text as zip_code,
        addr_state_text as addr_state,
        {{ lc_number('dti_text') }} as dti_reported,
        dti_text,
        cast({{ lc_number('delinq_2yrs_text') }} as integer) as delinq_2yrs,
        earliest_cr_line_text,
        cast({{ lc_number('fico_range_low_text') }} as integer) as fico_range_low,
        cast({{ lc_number('fico_range_high_text') }} as integer) as fico_range_high,
        cast({{ lc_number('inq_last_6mths_text') }} as integer) as inq_last_6mths,
        cast({{ lc_number('mths_since_last_delinq_text') }} as integer) as mths_since_last_delinq,
        cast({{ lc_number('open_acc_text') }} as integer) as open_acc,
        cast({{ lc_number('pub_rec_text') }} as integer) as pub_rec,
        {{ lc_number('revol_bal_text') }} as revol_bal,
        {{ lc_number('revol_util_text') }} as revol_util,
        revol_util_text,
        cast({{ lc_number('total_acc_text') }} as integer) as total_acc,
        cast({{ lc_number('mort_acc_text') }} as integer) as mort_acc,
        cast({{ lc_number('pub_rec_bankruptcies_text') }} as integer) as pub_rec_bankruptcies,
        application_type_text as application_type
    from fields

),

dated as (

    select
        *,
        -- Credit history is bounded by the loan's own issue year, not today's.
        {{ lc_month_date(
            'earliest_cr_line_text',
            'coalesce(extract(year from issue_date), extract(year from landed_at))'
        ) }} as earliest_cr_line_date
    from parsed

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
        loan_amnt,
        funded_amnt,
        term_months,
        int_rate,
        installment,
        grade,
        sub_grade,
        emp_title,
        emp_length_years,
        home_ownership,
        annual_inc,
        verification_status,
        issue_date,
        purpose,
        title,
        zip_code,
        addr_state,
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
        application_type,
        -- Cleaning flags: a value was present but could not be read, so it became null.
        coalesce(issue_date is null and trim(issue_d_text) <> '', false) as issue_date_unparseable,
        coalesce(earliest_cr_line_date is null and trim(earliest_cr_line_text) <> '', false)
            as earliest_cr_line_unparseable,
        coalesce(int_rate is null and trim(int_rate_text) <> '', false) as int_rate_unparseable,
        coalesce(revol_util is null and trim(revol_util_text) <> '', false)
            as revol_util_unparseable,
        coalesce(annual_inc is null and trim(annual_inc_text) <> '', false)
            as annual_inc_unparseable,
        coalesce(term_months is null and trim(term_text) <> '', false) as term_unparseable,
        coalesce(
            emp_length_years is null and trim(emp_length_text) not in ('', 'n/a'), false
        ) as emp_length_unparseable
    from dated

)

select * from final
