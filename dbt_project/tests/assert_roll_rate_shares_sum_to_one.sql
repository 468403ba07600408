-- Every from-bucket of every month and grade sends all its loans somewhere: its loan shares,
-- and its balance shares where it has balance, sum to 1. The 'All grades' rows hold the sum of
-- the grades' loans. Rows returned fail.

with

roll_rates as (

    select * from {{ ref('roll_rates') }}

),

sums as (

    select
        month_date,
        grade,
        from_bucket,
        sum(loan_share) as loan_share_sum,
        sum(balance_share) as balance_share_sum,
        sum(loans) as loans
    from roll_rates
    group by month_date, grade, from_bucket

),

by_grade as (

    select
        month_date,
        from_bucket,
        sum(case when grade = 'All grades' then loans else 0 end) as all_grades_loans,
        sum(case when grade <> 'All grades' then loans else 0 end) as graded_loans
    from sums
    group by month_date, from_bucket

),

final as (

    select
        'shares of ' || grade || ' ' || from_bucket || ' in ' || cast(month_date as varchar)
            as problem
    from sums
    where
        abs(loan_share_sum - 1) > 1e-9
        or (balance_share_sum is not null and abs(balance_share_sum - 1) > 1e-9)
    union all
    select
        'All grades differ from the grades for ' || from_bucket || ' in '
        || cast(month_date as varchar) as problem
    from by_grade
    where all_grades_loans <> graded_loans

)

select * from final
