with

loans as (

    select * from {{ ref('fct_loans') }}

),

cells as (

    -- KPIs are measured on loans whose outcome is known; active loans are not "good".
    -- One pass over the book down to tier x grade x decile; every segment type is then
    -- summed from these few hundred rows.
    select
        risk_tier,
        coalesce(grade, 'unknown') as grade,
        risk_decile,
        count(*) as portfolio_rows,
        sum(case when is_default then 1 else 0 end) as portfolio_defaults,
        sum(case when is_rule_watchlist then 1 else 0 end) as watchlist_rows,
        sum(case when is_rule_watchlist and is_default then 1 else 0 end) as watchlist_defaults
    from loans
    where is_resolved
    group by risk_tier, coalesce(grade, 'unknown'), risk_decile

),

segmented as (

    select
        'portfolio' as segment_type,
        'all' as segment,
        cells.*
    from cells
    union all
    select
        'risk_tier' as segment_type,
        risk_tier as segment,
        cells.*
    from cells
    union all
    select
        'grade' as segment_type,
        grade as segment,
        cells.*
    from cells
    union all
    select
        'risk_decile' as segment_type,
        cast(risk_decile as text) as segment,
        cells.*
    from cells
    where risk_decile is not null

),

counts as (

    select
        segment_type,
        segment,
        sum(portfolio_rows) as portfolio_rows,
        sum(portfolio_defaults) as portfolio_defaults,
        sum(watchlist_rows) as watchlist_rows,
        sum(watchlist_defaults) as watchlist_defaults
    from segmented
    group by segment_type, segment

),

final as (

    select
        segment_type,
        segment,
        cast(portfolio_rows as bigint) as portfolio_rows,
        cast(portfolio_defaults as double precision) / nullif(portfolio_rows, 0)
            as baseline_default_rate,
        cast(watchlist_rows as bigint) as watchlist_rows,
        cast(watchlist_rows as double precision) / nullif(portfolio_rows, 0) as watchlist_share,
        cast(watchlist_defaults as double precision) / nullif(watchlist_rows, 0)
            as watchlist_default_rate,
        (cast(watchlist_defaults as double precision) / nullif(watchlist_rows, 0))
        / nullif(cast(portfolio_defaults as double precision) / nullif(portfolio_rows, 0), 0)
            as lift_vs_baseline
    from counts

)

select * from final
