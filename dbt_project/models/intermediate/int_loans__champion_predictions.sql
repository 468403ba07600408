with

predictions as (

    select * from {{ ref('stg_ml__loan_predictions') }}

),

latest_run as (

    -- Only champions are scored, so the run scored last is the current champion.
    select run_id
    from predictions
    order by scored_at desc, run_id desc
    limit 1

),

ranked as (

    select
        predictions.*,
        row_number() over (
            partition by predictions.loan_id order by predictions.scored_at desc
        ) as score_rank
    from predictions
    inner join latest_run on predictions.run_id = latest_run.run_id

),

final as (

    select
        loan_id,
        run_id as model_run_id,
        pd,
        risk_decile,
        top_features as model_top_features,
        scored_at
    from ranked
    where score_rank = 1

)

select * from final
