{#- Incremental models pick up rows landed since their own watermark (the latest landing they
    have processed), less a lookback that covers batches still being written while the last
    run read (rows carry the time their batch began). Rows seen twice are harmless: staging
    skips event ids it already holds and the per-loan models replace a loan's row.

    The watermark is looked up first and inlined as a literal: a literal lets DuckDB skip row
    groups by their min/max and Postgres use the index on raw landed_at, where a subquery
    would make both read every payload. -#}
{% macro landed_since_watermark(landed_column, watermark_column='landed_at') -%}
    {%- set watermark_query -%}
        select coalesce(max({{ watermark_column }}), cast('1900-01-01' as timestamp))
            - interval '{{ var("incremental_lookback_minutes") }} minutes'
        from {{ this }}
    {%- endset -%}
    {%- set watermark = run_query(watermark_query).columns[0].values()[0] if execute else '1900-01-01' -%}
    {{ landed_column }} >= cast('{{ watermark }}' as timestamp)
{%- endmacro %}

{#- When this dbt invocation staged a row: downstream incremental models take the loans with
    rows staged after their own watermark. dbt runs one after another, so unlike landing
    times this needs no lookback. -#}
{% macro staged_at_now() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{#- `column` > the latest `watermark_column` in this model, inlined as a literal. -#}
{% macro staged_after_watermark(column, watermark_column='last_staged_at') -%}
    {%- set watermark_query -%}
        select coalesce(max({{ watermark_column }}), cast('1900-01-01' as timestamp))
        from {{ this }}
    {%- endset -%}
    {%- set watermark = run_query(watermark_query).columns[0].values()[0] if execute else '1900-01-01' -%}
    {{ column }} > cast('{{ watermark }}' as timestamp)
{%- endmacro %}
