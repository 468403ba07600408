{#- Loss given default by grade, from the book's own resolved charge-offs: one minus the
    recoveries net of collection fees over the exposure at charge-off (the principal not
    repaid), pooled over the grade's charge-offs (exposure-weighted). A grade with fewer than
    `lgd_min_charge_offs` charge-offs takes the whole book's figure; a book with fewer takes
    the `lgd_default` variable. -#}
with

loans as (

    select * from {{ ref('int_loans__rule_banded') }}

),

charge_offs as (

    -- Charged-off loans whose snapshot carries the payment totals (a loan known only from a
    -- payment history has no recoveries to read).
    select
        coalesce(grade, 'unknown') as grade,
        greatest(coalesce(funded_amnt, loan_amnt) - total_rec_prncp, 0) as exposure,
        greatest(coalesce(recoveries, 0) - coalesce(collection_recovery_fee, 0), 0)
            as net_recovery
    from loans
    where loan_status = 'Charged Off' and total_rec_prncp is not null

),

by_grade as (

    select
        grade,
        count(*) as charge_offs,
        sum(exposure) as exposure,
        sum(net_recovery) as net_recoveries
    from charge_offs
    where exposure > 0
    group by grade

),

book as (

    select
        count(*) as charge_offs,
        sum(exposure) as exposure,
        sum(net_recovery) as net_recoveries
    from charge_offs
    where exposure > 0

),

grades as (

    select distinct coalesce(grade, 'unknown') as grade from loans

),

estimates as (

    select
        grades.grade,
        coalesce(by_grade.charge_offs, 0) as charge_offs,
        coalesce(by_grade.exposure, 0) as exposure_at_charge_off,
        coalesce(by_grade.net_recoveries, 0) as net_recoveries,
        -- (greatest and least skip nulls: a grade without charge-offs has no figure, not 0)
        case
            when by_grade.exposure > 0
                then least(greatest(1 - by_grade.net_recoveries / by_grade.exposure, 0), 1)
        end as grade_lgd,
        case
            when book.exposure > 0
                then least(greatest(1 - book.net_recoveries / book.exposure, 0), 1)
        end as book_lgd,
        book.charge_offs as book_charge_offs
    from grades
    cross join book
    left join by_grade on grades.grade = by_grade.grade

),

final as (

    select
        grade,
        cast(charge_offs as bigint) as charge_offs,
        cast(exposure_at_charge_off as double precision) as exposure_at_charge_off,
        cast(net_recoveries as double precision) as net_recoveries,
        cast(grade_lgd as double precision) as observed_lgd,
        cast(case
            when charge_offs >= {{ var('lgd_min_charge_offs') }} then grade_lgd
            when book_charge_offs >= {{ var('lgd_min_charge_offs') }} then book_lgd
            else {{ var('lgd_default') }}
        end as double precision) as lgd,
        case
            when charge_offs >= {{ var('lgd_min_charge_offs') }} then 'grade'
            when book_charge_offs >= {{ var('lgd_min_charge_offs') }} then 'book'
            else 'default'
        end as lgd_source
    from estimates

)

select * from final
