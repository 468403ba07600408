with

source as (

    select * from {{ source('loan_events', 'loan_applications') }}

),

deduplicated as (

    {{ first_landing('source') }}

),

fields as (

    select
        event_id,
        cast(loan_id as bigint) as loan_id,
        occurred_at,
        landed_at,
        source,
        payload ->> 'loan_amnt' as loan_amnt_text,
        payload ->> 'funded_amnt' as funded_amnt_text,
        payload ->> 'term' as term_text,
        payload ->> 'int_rate' as int_rate_text,
        payload ->> 'installment' as installment_text,
        payload ->> 'grade' as grade,
        payload ->> 'sub_grade' as sub_grade,
        payload ->> 'emp_title' as emp_title,
        payload ->> 'emp_length' as emp_length_text,
        payload ->> 'home_ownership' as home_ownership,
        payload ->> 'annual_inc' as annual_inc_text,
        payload ->> 'verification_status' as verification_status,
        payload ->> 'issue_d' as issue_d_text,
        payload ->> 'purpose' as purpose,
        payload ->> 'title' as title,
        payload ->> 'zip_code' as zip_code,
        payload ->> 'addr_state' as addr_state,
        payload ->> 'dti' as dti_text,
        payload ->> 'delinq_2yrs' as delinq_2yrs_text,
        payload ->> 'earliest_cr_line' as earliest_cr_line_text,
        payload ->> 'fico_range_low' as fico_range_low_text,
        payload ->> 'fico_range_high' as fico_range_high_text,
        payload ->> 'inq_last_6mths' as inq_last_6mths_text,
        payload ->> 'mths_since_last_delinq' as mths_since_last_delinq_text,
        payload ->> 'open_acc' as open_acc_text,
        payload ->> 'pub_rec' as pub_rec_text,
        payload ->> 'revol_bal' as revol_bal_text,
        payload ->> 'revol_util' as revol_util_text,
        payload ->> 'total_acc' as total_acc_text,
        payload ->> 'mort_acc' as mort_acc_text,
        payload ->> 'pub_rec_bankruptcies' as pub_rec_bankruptcies_text,
        payload ->> 'application_type' as application_type
    from deduplicated

),

parsed as (

    select
        event_id,
        loan_id,
        occurred_at,
        landed_at,
        source,
        {{ lc_number('loan_amnt_text') }} as loan_amnt,
        {{ lc_number('funded_amnt_text') }} as funded_amnt,
        {{ lc_term_months('term_text') }} as term_months,
        {{ lc_number('int_rate_text') }} as int_rate,
        {{ lc_number('installment_text') }} as installment,
        grade,
        sub_grade,
        emp_title,
        {{ lc_emp_length_years('emp_length_text') }} as emp_length_years,
        home_ownership,
        {{ lc_number('annual_inc_text') }} as annual_inc,
        verification_status,
        -- A loan cannot be issued after it landed: that bounds a two-digit issue year.
        {{ lc_month_date('issue_d_text', 'extract(year from landed_at)') }} as issue_date,
        issue_d_text,
        purpose,
        title,
        zip_code,
        addr_state,
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
        cast({{ lc_number('total_acc_text') }} as integer) as total_acc,
        cast({{ lc_number('mort_acc_text') }} as integer) as mort_acc,
        cast({{ lc_number('pub_rec_bankruptcies_text') }} as integer) as pub_rec_bankruptcies,
        application_type
    from fields

),

final as (

    select
        event_id,
        loan_id,
        occurred_at,
        landed_at,
        source,
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
        -- Credit history is bounded by the loan's own issue year, not today's.
        {{ lc_month_date(
            'earliest_cr_line_text',
            'coalesce(extract(year from issue_date), extract(year from landed_at))'
        ) }} as earliest_cr_line_date,
        issue_date is null and issue_d_text is not null as issue_date_unparseable,
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
        application_type
    from parsed

)

select * from final
