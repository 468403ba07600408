{#- A fixed-horizon label: true when the loan defaulted (first_default_date: its first month
    120+ days past due or charged off, or the snapshot estimate) within `months` of issue;
    false when it did not and was observed that long (its latest state at least `months`
    after issue, or paid off earlier, after which it cannot default); null when its cohort has
    not been observed that long. Reads fct_loans' columns. -#}
{% macro default_within_months(months) -%}
    case
        when first_default_date < {{ dbt.dateadd('month', months, 'issue_date') }} then true
        when outcome = 'good' then false
        when as_of_date >= {{ dbt.dateadd('month', months, 'issue_date') }} then false
    end
{%- endmacro %}
