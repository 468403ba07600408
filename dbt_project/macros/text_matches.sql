{#- True when the whole of `expression` matches the regular expression `pattern`.
    DuckDB's `~` already matches the whole string while Postgres' matches anywhere, so
    each adapter gets the form that means "whole string". -#}
{% macro text_matches(expression, pattern) -%}
    {{ return(adapter.dispatch('text_matches', 'credit_risk_ews')(expression, pattern)) }}
{%- endmacro %}

{% macro default__text_matches(expression, pattern) -%}
    ({{ expression }} ~ '^(?:{{ pattern }})$')
{%- endmacro %}

{% macro duckdb__text_matches(expression, pattern) -%}
    regexp_full_match({{ expression }}, '{{ pattern }}')
{%- endmacro %}
