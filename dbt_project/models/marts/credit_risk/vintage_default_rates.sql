with

loans as (

    select * from {{ ref('fct_loans') }}

),

cells as (

    -- One pass over the book: loans per issue month and month of first default (null when
    -- the loan has not defaulted), with the latest as-of date seen.
    select
        issue_date as cohort_month,
        case when months_to_default < 0 then 0 else months_to_default end as months_on_book,
        max(as_of_date) as as_of_date,
        count(*) as loans
    from loans
    group by
        issue_date,
        case when months_to_default < 0 then 0 else months_to_default end

),

book_end as (

    select max(as_of_date) as as_of_date from cells

),

cohorts as (

    select
        cohort_month,
        sum(loans) as cohort_loans
    from cells
    where cohort_month is not null
    group by cohort_month

),

observed_cohorts as (

    -- A cohort is observed up to the book's latest as-of date, no further.
    select
        cohorts.cohort_month,
        cohorts.cohort_loans,
        cast({{ dbt.datediff('cohorts.cohort_month', 'book_end.as_of_date', 'month') }} as integer)  -- noqa: LT05
            as months_observed
    from cohorts
    cross join book_end

),

observed_years as (

    -- Summed per issue year, a curve is comparable only as far as the year's youngest
    -- cohort is observed: beyond that the older cohorts alone would bend it.
    select
        *,
        cast(extract(year from cohort_month) as integer) as cohort_year,
        min(months_observed) over (
            partition by extract(year from cohort_month)
        ) as year_months_observed
    from observed_cohorts

),

defaults_by_month as (

    select
        cohort_month,
        months_on_book,
        loans as new_defaults
    from cells
    where cohort_month is not null and months_on_book is not null

),

grid as (

    select
        observed_years.cohort_month,
        observed_years.cohort_year,
        observed_years.year_months_observed,
        observed_years.cohort_loans,
        months.months_on_book
    from observed_years
    cross join
        generate_series(0, {{ var('vintage_max_months_on_book') }}) as months (months_on_book)
    where months.months_on_book <= observed_years.months_observed

),

counted as (

    select
        grid.cohort_month,
        grid.cohort_year,
        grid.year_months_observed,
        grid.months_on_book,
        grid.cohort_loans,
        coalesce(defaults_by_month.new_defaults, 0) as new_defaults
    from grid
    left join defaults_by_month
        on
            grid.cohort_month = defaults_by_month.cohort_month
            and grid.months_on_book = defaults_by_month.months_on_book

),

cumulated as (

    select
        *,
        sum(new_defaults) over (
            partition by cohort_month order by months_on_book
            rows between unbounded preceding and current row
        ) as cumulative_defaults
    from counted

),

final as (

    select
        cohort_month,
        cohort_year,
        cast(months_on_book as integer) as months_on_book,
        cast(cohort_loans as bigint) as cohort_loans,
        cast(new_defaults as bigint) as new_defaults,
        cast(cumulative_defaults as bigint) as cumulative_defaults,
        cast(cumulative_defaults as double precision) / cohort_loans as cumulative_default_rate,
        months_on_book <= year_months_observed as is_cohort_year_observed
    from cumulated

)

select * from final
