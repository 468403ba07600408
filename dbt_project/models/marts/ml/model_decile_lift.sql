{#- How well the champion's PD ranks the book: per risk decile, the resolved loans, their
    default rate, and lift over the scored book's default rate. The scored book includes
    the champion's training loans, so this is a monitoring view, not the out-of-time test
    (model_run_metrics holds that). -#}
with

loans as (

    select * from {{ ref('fct_loans') }}

),

scored_resolved as (

    select
        risk_decile,
        model_run_id,
        pd,
        case when is_default then 1 else 0 end as defaulted
    from loans
    where is_resolved and pd is not null

),

by_decile as (

    select
        risk_decile,
        model_run_id,
        count(*) as resolved_loans,
        count(case when defaulted = 1 then 1 end) as defaulted_loans,
        avg(pd) as mean_pd,
        avg(cast(defaulted as double precision)) as default_rate
    from scored_resolved
    group by risk_decile, model_run_id

),

book as (

    select avg(cast(defaulted as double precision)) as book_default_rate
    from scored_resolved

),

final as (

    select
        by_decile.risk_decile,
        by_decile.model_run_id,
        by_decile.resolved_loans,
        by_decile.defaulted_loans,
        by_decile.mean_pd,
        by_decile.default_rate,
        book.book_default_rate,
        by_decile.default_rate / nullif(book.book_default_rate, 0) as lift
    from by_decile
    cross join book

)

select * from final
