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

{#- Staging: rows landed since the watermark, less a lookback that covers batches still being
    written while the last run read (rows carry the time their batch began). Rows seen twice
    are harmless: staging skips event ids it already holds. -#}
{% macro landed_since_watermark(landed_column, watermark_column='landed_at') -%}
    {{ landed_column }} >= {{ watermark_literal(watermark_column) }}
        - interval '{{ var("incremental_lookback_minutes") }} minutes'
{%- endmacro %}

{#- When this dbt invocation staged a row: downstream incremental models take the loans with
    rows staged after their own watermark. dbt runs one after another, so unlike landing
    times this needs no lookback. -#}
{% macro staged_at_now() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{% macro staged_after_watermark(column, watermark_column='last_staged_at') -%}
    {{ column }} > {{ watermark_literal(watermark_column) }}
{%- endmacro %}
