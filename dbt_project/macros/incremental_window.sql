{#- Incremental models read only what arrived since their own watermark: the latest value of a
    bookkeeping column in the model itself. The watermark is looked up first and inlined as
    a literal: a literal lets DuckDB skip row groups by their min/max and Postgres use an
    index, where a subquery would make both read every row (and every payload). -#}
{% macro watermark_literal(watermark_column) -%}
    {%- set watermark_query -%}
        select coalesce(max({{ watermark_column }}), cast('1900-01-01' as timestamp))
        from {{ this }}
    {%- endset -%}
    {%- set watermark = run_query(watermark_query).columns[0].values()[0] if execute else '1900-01-01' -%}
    cast('{{ watermark }}' as timestamp)
{%- endmacro %}

{#- When this dbt invocation staged a row: downstream incremental models take the loans with
    rows staged after their own watermark. dbt runs one after another, so this needs no
    lookback. -#}
{% macro staged_at_now() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{% macro staged_after_watermark(column, watermark_column='last_staged_at') -%}
    {{ column }} > {{ watermark_literal(watermark_column) }}
{%- endmacro %}
