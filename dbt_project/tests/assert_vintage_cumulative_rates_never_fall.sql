-- A cumulative default rate never falls as loans age: neither a cohort's, nor an issue
-- year's as the Portfolio dashboard draws it (its cohorts' defaults over their loans, as far
-- as every cohort of the year is observed). Rows where one is below the month before's fail.

with

vintages as (

    select * from {{ ref('vintage_default_rates') }}

),

cohort_curves as (

    select
        'cohort ' || cast(cohort_month as varchar) as curve,
        months_on_book,
        cumulative_default_rate as rate
    from vintages

),

year_curves as (

    select
        'issue year ' || cast(cohort_year as varchar) as curve,
        months_on_book,
        sum(cumulative_defaults) * 1.0 / sum(cohort_loans) as rate
    from vintages
    where is_cohort_year_observed
    group by cohort_year, months_on_book

),

compared as (

    select
        curve,
        months_on_book,
        rate,
        lag(rate) over (partition by curve order by months_on_book) as previous_rate
    from (
        select * from cohort_curves
        union all
        select * from year_curves
    ) as curves

),

final as (

    select * from compared
    where rate < previous_rate

)

select * from final
