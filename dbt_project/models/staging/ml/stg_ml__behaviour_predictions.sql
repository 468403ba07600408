{#- Like stg_ml__loan_predictions: until `python -m ml train-behaviour` has run,
    ml.behaviour_predictions does not exist and this model is an empty table of the same
    shape (the watchlist's behavioural score then never fires). -#}
{%- set columns = [
    'loan_id', 'month_date', 'run_id', 'target', 'pd', 'risk_decile', 'top_features',
    'scored_at',
] -%}

with

source as (

    {{ optional_source(source('ml', 'behaviour_predictions'), columns) }}

),

final as (

    select
        cast(loan_id as bigint) as loan_id,
        cast(month_date as date) as month_date,
        cast(run_id as text) as run_id,
        cast(target as text) as target,  -- noqa: RF04
        cast(pd as double precision) as pd,
        cast(risk_decile as integer) as risk_decile,
        cast(top_features as text) as top_features,
        cast(scored_at as timestamp) as scored_at
    from source

)

select * from final
