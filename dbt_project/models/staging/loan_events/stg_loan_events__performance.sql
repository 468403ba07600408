with

source as (

    select * from {{ source('loan_events', 'loan_performance') }}

),

deduplicated as (

    {{ first_landing('source') }}

),

fields as (

    select
        event_id,
        cast(loan_id as bigint) as loan_id,
        occurred_at,
        landed_at,
        trim(payload ->> 'loan_status') as loan_status_text,
        payload ->> 'as_of_d' as as_of_text,
        payload ->> 'total_pymnt' as total_pymnt_text,
        payload ->> 'total_rec_prncp' as total_rec_prncp_text,
        payload ->> 'recoveries' as recoveries_text,
        payload ->> 'out_prncp' as out_prncp_text,
        payload ->> 'last_pymnt_d' as last_pymnt_d_text,
        payload ->> 'last_pymnt_amnt' as last_pymnt_amnt_text
    from deduplicated

),

final as (

    select
        event_id,
        loan_id,
        occurred_at,
        landed_at,
        coalesce(cast(occurred_at as date), cast(as_of_text as date)) as as_of_date,
        -- 'Does not meet the credit policy. Status:Fully Paid' is a Fully Paid loan
        -- issued outside the credit policy.
        case
            when loan_status_text like 'Does not meet the credit policy. Status:%'
                then substr(loan_status_text, length('Does not meet the credit policy. Status:') + 1)
            else loan_status_text
        end as loan_status,
        loan_status_text not like 'Does not meet the credit policy.%' as meets_credit_policy,
        loan_status_text as loan_status_raw,
        case
            when loan_status_text in ('Charged Off', 'Default') then 'default'
            when loan_status_text = 'Does not meet the credit policy. Status:Charged Off' then 'default'
            when loan_status_text = 'Fully Paid' then 'good'
            when loan_status_text = 'Does not meet the credit policy. Status:Fully Paid' then 'good'
            else 'unresolved'
        end as outcome,
        {{ lc_number('total_pymnt_text') }} as total_pymnt,
        {{ lc_number('total_rec_prncp_text') }} as total_rec_prncp,
        {{ lc_number('recoveries_text') }} as recoveries,
        {{ lc_number('out_prncp_text') }} as out_prncp,
        {{ lc_month_date('last_pymnt_d_text', 'extract(year from landed_at)') }} as last_pymnt_date,
        {{ lc_number('last_pymnt_amnt_text') }} as last_pymnt_amnt
    from fields

)

select * from final
