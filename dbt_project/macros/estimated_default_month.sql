{#
    The month a loan known only from a snapshot defaulted: its first missed payment (the month
    after `last_payment_date`) plus var('default_lag_months'), never later than
    `observed_date`, the as-of date of the first snapshot that shows the default. The export's
    as-of date is the latest of issue, last payment and last credit pull, and a credit pull
    keeps moving after a charge-off (a median 8 months after the last payment on real loans),
    so the as-of date alone dated defaults near the book's edge.
#}
{% macro estimated_default_month(last_payment_date, observed_date) -%}
    least(
        {{ observed_date }},
        cast({{ dbt.dateadd('month', 1 + var('default_lag_months') | int, last_payment_date) }} as date)
    )
{%- endmacro %}
