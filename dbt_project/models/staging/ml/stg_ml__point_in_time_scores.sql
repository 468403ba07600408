{#- Like stg_ml__loan_predictions: until `python -m ml backtest-scores` has run,
    ml.point_in_time_scores does not exist and this model is an empty table of the same
    shape (the backtest's model trigger then never fires). -#}
{%- set columns = ['cutoff_month', 'loan_id', 'pd', 'candidate', 'train_rows', 'scored_at'] -%}

with

source as (

    {{ optional_source(source('ml', 'point_in_time_scores'), columns) }}

),

final as (

    select
        cast(cutoff_month as date) as cutoff_month,
        cast(loan_id as bigint) as loan_id,
        cast(pd as double precision) as pd,
        cast(candidate as text) as candidate,
        cast(train_rows as integer) as train_rows,
        cast(scored_at as timestamp) as scored_at
    from source

)

select * from final
