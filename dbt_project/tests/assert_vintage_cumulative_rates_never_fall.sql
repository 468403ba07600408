-- A cohort's cumulative default rate never falls as its loans age: rows where it is below
-- the month before's fail the test.

with

vintages as (

    select * from {{ ref('vintage_default_rates') }}

),

compared as (

    select
        cohort_month,
        months_on_book,
        cumulative_default_rate,
        lag(cumulative_default_rate) over (
            partition by cohort_month order by months_on_book
        ) as previous_rate
    from vintages

),

final as (

    select * from compared
    where cumulative_default_rate < previous_rate

)

select * from final
