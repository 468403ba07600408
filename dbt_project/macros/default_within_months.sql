{#- A fixed-horizon label over fct_loans' columns: null while the loan's cohort has not been
    observed `months` months (issue date + months after the book's latest date,
    `book_end`) - counting its early defaults and early payoffs before the rest could default
    would bias the rate up - and null while the loan's own latest state is older than that
    and it is unresolved; else true when it defaulted (first_default_date: its first month
    120+ days past due or charged off, or the snapshot estimate) within `months` of issue,
    false when it did not (or was paid off first). -#}
{% macro default_within_months(months, book_end) -%}
    case
        when {{ dbt.dateadd('month', months, 'issue_date') }} > {{ book_end }} then null
        when first_default_date < {{ dbt.dateadd('month', months, 'issue_date') }} then true
        when outcome = 'good' then false
        when as_of_date >= {{ dbt.dateadd('month', months, 'issue_date') }} then false
    end
{%- endmacro %}
