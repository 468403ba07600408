{{ config(materialized='view') }}

{#- Origination-time fields only: nothing that describes what happened after issue (status,
    payments, recoveries, dates after issue) may appear here, or the label leaks into the
    features (ml/features.py holds the same list; tests check both). A view: it is read
    once per training or scoring run, so a table would only copy fct_loans. -#}
with

loans as (

    select * from {{ ref('fct_loans') }}

),

final as (

    select
        loan_id,
        issue_date,
        loan_amnt,
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
        is_rule_watchlist,
        outcome,
        case when is_resolved then is_default end as is_default,
        -- The book's latest date says how long each cohort has been observed; a scalar
        -- subquery, so a reader's filter on the view still reaches fct_loans.
        {{ default_within_months(12, '(select max(book.as_of_date) from loans as book)') }}
            as is_default_12m,
        {{ default_within_months(24, '(select max(book.as_of_date) from loans as book)') }}
            as is_default_24m
    from loans

)

select * from final
