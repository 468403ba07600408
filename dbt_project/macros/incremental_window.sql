{#- Incremental models pick up rows landed since their own watermark (the latest landing they
    have processed), less a lookback that covers batches committed out of landing order (two
    ingest instances). Rows seen twice are harmless: staging skips event ids it already holds
    and the per-loan models replace a loan's row. -#}
{% macro landed_since_watermark(landed_column, watermark_column='landed_at') -%}
    {{ landed_column }} >= (
        select
            coalesce(max({{ watermark_column }}), cast('1900-01-01' as timestamp))
            - interval '{{ var("incremental_lookback_minutes") }} minutes'
        from {{ this }}
    )
{%- endmacro %}
