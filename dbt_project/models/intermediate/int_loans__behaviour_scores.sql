{#- Each loan's current behavioural score: from the behaviour run scored last, the loan's
    latest month scored (a run scores the open loans of the book's latest month, so a loan
    that has since closed keeps its last score, and the watchlist reads only open loans). -#}
with

predictions as (

    select * from {{ ref('stg_ml__behaviour_predictions') }}

),

latest_run as (

    select run_id
    from predictions
    order by scored_at desc, run_id desc
    limit 1

),

ranked as (

    select
        predictions.*,
        row_number() over (
            partition by predictions.loan_id order by predictions.month_date desc
        ) as month_rank
    from predictions
    inner join latest_run on predictions.run_id = latest_run.run_id

),

final as (

    select
        loan_id,
        month_date as behaviour_month,
        run_id as behaviour_run_id,
        pd as behaviour_pd,
        risk_decile as behaviour_risk_decile,
        top_features as behaviour_top_features
    from ranked
    where month_rank = 1

)

select * from final
