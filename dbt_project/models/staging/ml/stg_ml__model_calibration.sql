{#- Like stg_ml__model_runs: until a model has been trained, ml.model_calibration does not
    exist and this model is an empty table of the same shape. -#}
{%- set columns = [
    'run_id', 'segment_type', 'segment', 'loans', 'defaults', 'observed_default_rate',
    'mean_pd', 'jeffreys_lower', 'jeffreys_upper', 'is_within_interval',
] -%}

with

source as (

    {{ optional_source(source('ml', 'model_calibration'), columns) }}

),

final as (

    select
        cast(run_id as text) as run_id,
        cast(segment_type as text) as segment_type,
        cast(segment as text) as segment,
        cast(loans as integer) as loans,
        cast(defaults as integer) as defaults,  -- noqa: RF04
        cast(observed_default_rate as double precision) as observed_default_rate,
        cast(mean_pd as double precision) as mean_pd,
        cast(jeffreys_lower as double precision) as jeffreys_lower,
        cast(jeffreys_upper as double precision) as jeffreys_upper,
        cast(is_within_interval as boolean) as is_within_interval
    from source

)

select * from final
