{#- Incremental: a run counts the events staged since the last one, per batch (a batch's
    events are staged together, so its counts never change afterwards). -#}
{{ config(
    materialized='incremental',
    unique_key=['batch_id', 'event_type', 'flag'],
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
) }}

{#- Every cleaning rule staging applies, as (flag, field, condition on a staged row): dti's
    quality kinds, an invalid loan id, and each parsed field's flag (macros/staging_fields.sql). -#}
{%- set application_checks = [
    ('dti_missing', 'dti', "dti_quality_flag = 'missing'"),
    ('dti_unparseable', 'dti', "dti_quality_flag = 'unparseable'"),
    ('dti_sentinel_999', 'dti', "dti_quality_flag = 'sentinel_999'"),
    ('dti_above_max', 'dti', "dti_quality_flag = 'above_max'"),
    ('dti_negative', 'dti', "dti_quality_flag = 'negative'"),
    ('term_not_36_or_60', 'term', 'term_months not in (36, 60)'),
    ('loan_id_invalid', 'loan_id', 'loan_id_invalid'),
] -%}
{%- for field in application_fields() if field_flag(field) -%}
    {%- do application_checks.append((field_flag(field), field.key, field_flag(field))) -%}
{%- endfor -%}
{%- set performance_checks = [
    ('loan_status_unknown', 'loan_status', 'loan_status_unknown'),
    ('loan_id_invalid', 'loan_id', 'loan_id_invalid'),
] -%}
{%- for field in performance_fields() if field_flag(field) -%}
    {%- do performance_checks.append((field_flag(field), field.key, field_flag(field))) -%}
{%- endfor -%}
{%- set loan_month_checks = [
    ('loan_status_unknown', 'period_end_lstat', 'loan_status_unknown'),
    ('loan_id_invalid', 'loan_id', 'loan_id_invalid'),
] -%}
{%- for field in loan_month_fields() if field_flag(field) -%}
    {%- do loan_month_checks.append((field_flag(field), field.key, field_flag(field))) -%}
{%- endfor -%}
{#- (what the rows are, the staging model holding them, its checks) -#}
{%- set checked = [
    ('loan.application', 'stg_loan_events__applications', application_checks),
    ('loan.performance', 'stg_loan_events__performance', performance_checks),
    ('loan.performance.month', 'stg_loan_events__loan_months', loan_month_checks),
] -%}

with

{% for event_type, model, checks in checked %}
    {{ model }}_counts as (

        -- One pass over the events: a column per check, a row per landing batch.
        select
            batch_id,
            min(landed_at) as landed_at,
            min(source) as producer,
            max(staged_at) as last_staged_at,
            {% for flag, field, condition in checks -%}
                sum(case when {{ condition }} then 1 else 0 end) as {{ flag }},
            {% endfor -%}
            count(*) as checked_rows
        from {{ ref(model) }}
        {% if is_incremental() -%}
            where {{ staged_after_watermark('staged_at') }}
        {%- endif %}
        group by batch_id

    ),
{% endfor %}

unpivoted as (

    {%- for event_type, model, checks in checked %}
        {%- set outer_loop = loop %}
        {%- for flag, field, condition in checks %}
            select
                batch_id,
                landed_at,
                producer,
                last_staged_at,
                '{{ event_type }}' as event_type,
                '{{ field }}' as field,
                '{{ flag }}' as flag,
                checked_rows,
                {{ flag }} as flagged_rows
            from {{ model }}_counts
            {{ "union all" if not (outer_loop.last and loop.last) }}
        {%- endfor %}
    {%- endfor %}

),

final as (

    select
        batch_id,
        landed_at,
        producer,
        event_type,
        field,
        flag,
        cast(checked_rows as bigint) as checked_rows,
        cast(flagged_rows as bigint) as flagged_rows,
        cast(flagged_rows as double precision) / nullif(checked_rows, 0) as flagged_share,
        last_staged_at
    from unpivoted

)

select * from final
