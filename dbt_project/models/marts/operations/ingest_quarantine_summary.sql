with

quarantine as (

    select * from {{ ref('stg_ingest__quarantine') }}

),

final as (

    select
        {{ dbt.date_trunc('minute', 'landed_at') }} as interval_start,
        source_kind,
        source_name,
        error_field,
        cast(count(*) as bigint) as quarantined,
        min(reason) as example_reason
    from quarantine
    group by {{ dbt.date_trunc('minute', 'landed_at') }}, source_kind, source_name, error_field

)

select * from final
