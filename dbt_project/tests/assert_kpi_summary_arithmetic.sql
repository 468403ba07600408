-- The KPIs must agree with each other, with fct_loans and with the watchlist, and every
-- segmentation must add up to the portfolio: returns a row on any mismatch. Sums of
-- balances are compared to a relative 1e-9 (plus 1e-6): summed in another order, a
-- billion in balances differs in its last digits (seen at 1M loans).
with

kpis as (

    select * from {{ ref('kpi_summary') }}

),

loans as (

    select * from {{ ref('fct_loans') }}

),

watchlist as (

    select * from {{ ref('early_warning_watchlist') }}

),

recount as (

    select
        sum(case when is_resolved then 1 else 0 end) as resolved_loans,
        sum(case when is_resolved and is_rule_watchlist then 1 else 0 end)
            as resolved_rule_flagged_loans,
        sum(case when not is_resolved then 1 else 0 end) as active_loans
    from loans

),

watchlist_recount as (

    select
        count(*) as active_flagged_loans,
        sum(case when trips_rule then 1 else 0 end) as active_flagged_by_rule,
        sum(case when trips_behaviour then 1 else 0 end) as active_flagged_by_behaviour,
        sum(case when trips_model then 1 else 0 end) as active_flagged_by_model,
        coalesce(sum(coalesce(out_prncp, 0)), 0) as active_flagged_balance
    from watchlist

),

portfolio as (

    select * from kpis
    where segment_type = 'portfolio'

),

segment_totals as (

    select
        segment_type,
        sum(resolved_loans) as resolved_loans,
        sum(resolved_rule_flagged_loans) as resolved_rule_flagged_loans,
        sum(resolved_default_rate * resolved_loans) as defaulted_loans,
        sum(active_loans) as active_loans,
        sum(active_flagged_loans) as active_flagged_loans,
        sum(active_flagged_balance) as active_flagged_balance
    from kpis
    where segment_type in ('risk_tier', 'grade')
    group by segment_type

),

final as (

    select
        'portfolio' as failed_check,
        portfolio.segment_type
    from portfolio
    cross join recount
    where
        portfolio.resolved_loans <> recount.resolved_loans
        or portfolio.resolved_rule_flagged_loans <> recount.resolved_rule_flagged_loans
        or portfolio.active_loans <> recount.active_loans
        or abs(
            portfolio.resolved_rule_flagged_share
            - cast(portfolio.resolved_rule_flagged_loans as double precision)
            / portfolio.resolved_loans
        ) > 1e-9
        or abs(
            portfolio.resolved_rule_lift
            - portfolio.resolved_rule_flagged_default_rate / portfolio.resolved_default_rate
        ) > 1e-9
    union all
    select
        'the live watchlist' as failed_check,
        portfolio.segment_type
    from portfolio
    cross join watchlist_recount
    where
        portfolio.active_flagged_loans <> watchlist_recount.active_flagged_loans
        or portfolio.active_flagged_by_rule <> watchlist_recount.active_flagged_by_rule
        or portfolio.active_flagged_by_behaviour
        <> watchlist_recount.active_flagged_by_behaviour
        or portfolio.active_flagged_by_model <> watchlist_recount.active_flagged_by_model
        or abs(portfolio.active_flagged_balance - watchlist_recount.active_flagged_balance)
        > 1e-6 + 1e-9 * abs(watchlist_recount.active_flagged_balance)
    union all
    select
        'segments add up' as failed_check,
        segment_totals.segment_type
    from segment_totals
    cross join portfolio
    where
        segment_totals.resolved_loans <> portfolio.resolved_loans
        or segment_totals.resolved_rule_flagged_loans <> portfolio.resolved_rule_flagged_loans
        or abs(
            coalesce(segment_totals.defaulted_loans, 0)
            - coalesce(portfolio.resolved_default_rate * portfolio.resolved_loans, 0)
        ) > 1e-6 + 1e-9 * portfolio.resolved_loans
        or segment_totals.active_loans <> portfolio.active_loans
        or segment_totals.active_flagged_loans <> portfolio.active_flagged_loans
        or abs(segment_totals.active_flagged_balance - portfolio.active_flagged_balance)
        > 1e-6 + 1e-9 * abs(portfolio.active_flagged_balance)

)

select * from final
