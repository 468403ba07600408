{#- Like stg_ml__loan_predictions: until a model has been trained, ml.model_runs does not
    exist and this model is an empty table of the same shape. Runs registered before the
    validation split and calibration existed have nulls in those columns. -#}
{%- set columns = [
    'run_id', 'training_id', 'trained_at', 'candidate', 'model_type', 'split_cut',
    'train_rows', 'test_rows', 'auc', 'gini', 'ks', 'brier', 'top_decile_lift',
    'rule_watchlist_lift', 'is_champion', 'validation_cut', 'validation_rows',
    'validation_auc', 'validation_ks', 'mean_pd', 'default_rate', 'calibration_method',
    'target', 'model_family',
] -%}

with

source as (

    {{ optional_source(source('ml', 'model_runs'), columns) }}

),

final as (

    select
        cast(run_id as text) as run_id,
        cast(training_id as text) as training_id,
        cast(trained_at as timestamp) as trained_at,
        cast(candidate as text) as candidate,
        cast(model_type as text) as model_type,
        cast(split_cut as date) as split_cut,
        cast(train_rows as integer) as train_rows,
        cast(test_rows as integer) as test_rows,
        cast(auc as double precision) as auc,
        cast(gini as double precision) as gini,
        cast(ks as double precision) as ks,
        cast(brier as double precision) as brier,
        cast(top_decile_lift as double precision) as top_decile_lift,
        cast(rule_watchlist_lift as double precision) as rule_watchlist_lift,
        cast(is_champion as boolean) as is_champion,
        cast(validation_cut as date) as validation_cut,
        cast(validation_rows as integer) as validation_rows,
        cast(validation_auc as double precision) as validation_auc,
        cast(validation_ks as double precision) as validation_ks,
        cast(mean_pd as double precision) as mean_pd,
        cast(default_rate as double precision) as default_rate,
        cast(calibration_method as text) as calibration_method,
        cast(coalesce(target, 'is_default') as text) as target,  -- noqa: RF04
        cast(coalesce(model_family, 'origination') as text) as model_family
    from source

)

select * from final
