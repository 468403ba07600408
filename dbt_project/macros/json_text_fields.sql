{#- Reading many keys of a JSON payload, once per row. Naive `payload ->> 'key'` per key
    re-reads the document for every key: Postgres de-TOASTs (decompresses) and re-parses it
    each time and DuckDB re-parses the text, which made staging 10x slower on a full book.
    So each adapter reads the document once:
      from {{ json_fields_from('new_events', 'payload', keys) }}
      select {{ json_text_fields('payload', keys) }}   -- one `<key>_text` column per key -#}

{% macro json_fields_from(relation, column, keys) -%}
    {{ return(adapter.dispatch('json_fields_from', 'credit_risk_ews')(relation, column, keys)) }}
{%- endmacro %}

{% macro json_text_fields(column, keys, suffix='_text') -%}
    {{ return(adapter.dispatch('json_text_fields', 'credit_risk_ews')(column, keys, suffix)) }}
{%- endmacro %}

{#- Postgres: one json_to_record per row, its columns typed text. The raw payload is `json`
    (kept as received); a `jsonb` payload from before that works too, through the cast. -#}
{% macro default__json_fields_from(relation, column, keys) -%}
    {{ relation }}
    cross join lateral json_to_record({{ relation }}.{{ column }}::json) as payload_fields (
        {%- for key in keys %}
        {{ key }} text{{ "," if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{% macro default__json_text_fields(column, keys, suffix) -%}
    {%- for key in keys %}
        payload_fields.{{ key }} as {{ key }}{{ suffix }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- DuckDB: one json_extract_string with the list of paths; equal calls are computed once. -#}
{% macro duckdb__json_fields_from(relation, column, keys) -%}
    {{ relation }}
{%- endmacro %}

{% macro duckdb__json_text_fields(column, keys, suffix) -%}
    {%- set paths -%}
        [{% for key in keys %}'$.{{ key }}'{{ ", " if not loop.last }}{% endfor %}]
    {%- endset -%}
    {%- for key in keys %}
        json_extract_string({{ column }}, {{ paths }})[{{ loop.index }}] as {{ key }}{{ suffix }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}
