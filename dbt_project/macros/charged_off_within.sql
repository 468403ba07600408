{#- The behavioural score's label over ml_behaviour_features' CTEs: null while the window of
    `months` after `month` runs past the book's last month (`book_end`: else recent months
    would count their early charge-offs and payoffs alone); true when the loan's first
    charge-off falls in the window; false when it was paid off in it, or its history reaches
    the window's end without a charge-off; null when its history stops before that. -#}
{% macro charged_off_within(months, month, book_end) -%}
    {%- set window_end = "cast(" ~ dbt.dateadd('month', months, month) ~ " as date)" -%}
    case
        when {{ window_end }} > {{ book_end }} then null
        when
            outcomes.charge_off_month > {{ month }}
            and outcomes.charge_off_month <= {{ window_end }}
            then true
        when outcomes.paid_off_month <= {{ window_end }} then false
        when outcomes.last_month >= {{ window_end }} then false
    end
{%- endmacro %}
