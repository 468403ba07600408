{#- Parsers for the raw string formats of the LendingClub export. Each returns null for an
    empty, malformed or out-of-range value and never fails, whatever the text: a pattern
    with bounded lengths guards every cast, so a 400-digit amount, a 23-digit count or a year
    0000 is null (staging flags it; data_quality_issues counts it) instead of a cast error
    that would stop every later `dbt build`, or an `inf` that breaks scoring. -#}

{#- Years a date may have; the same bounds as the ingest decoder's (event_decoding.py). -#}
{% macro lc_earliest_year() %}1900{% endmacro %}
{% macro lc_latest_year() %}2200{% endmacro %}

{#- '13.99', ' 10.65%', '65000.0' -> number. At most 15 digits before the point (amounts
    up to a trillion and more, exact in a double) and 12 after. -#}
{% macro lc_number(expression) -%}
    case
        when {{ text_matches("replace(trim(" ~ expression ~ "), '%', '')", "-?[0-9]{1,15}(\\.[0-9]{1,12})?") }}
            then cast(replace(trim({{ expression }}), '%', '') as double precision)
    end
{%- endmacro %}

{#- A count ('1', '1.0', '705.0') -> integer, null outside the integer range. -#}
{% macro lc_integer(expression) -%}
    case
        when {{ lc_number(expression) }} between -2147483648 and 2147483647
            then cast({{ lc_number(expression) }} as integer)
    end
{%- endmacro %}

{#- ' 36 months' -> 36 -#}
{% macro lc_term_months(expression) -%}
    case
        when {{ text_matches("trim(" ~ expression ~ ")", "[0-9]{1,3} months") }}
            then cast(split_part(trim({{ expression }}), ' ', 1) as integer)
    end
{%- endmacro %}

{#- '< 1 year' -> 0, '1 year' -> 1, '10+ years' -> 10, 'n/a' or empty -> null -#}
{% macro lc_emp_length_years(expression) -%}
    case
        when trim({{ expression }}) = '< 1 year' then 0
        when {{ text_matches("trim(" ~ expression ~ ")", "[0-9]{1,2}\\+? years?") }}
            then cast(replace(split_part(trim({{ expression }}), ' ', 1), '+', '') as integer)
    end
{%- endmacro %}

{#- A month's English name or an abbreviation of 3 letters or more of it ('Mar', 'mar',
    'Sept', 'March') -> 1..12; anything else ('Marzipan') -> null. -#}
{% macro lc_month_number(expression) -%}
    {%- set names = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august',
                     'september', 'october', 'november', 'december'] -%}
    case
        {%- for name in names %}
        when length({{ expression }}) >= 3 and '{{ name }}' like lower({{ expression }}) || '%'
            then {{ loop.index }}
        {%- endfor %}
    end
{%- endmacro %}

{#- The month a LendingClub date names, as its first day: 'Mar-2017', 'Feb-02' (two-digit
    year), '18-Dec', '2018-Dec' (year first, a spreadsheet re-save), 'Sept-2017' or
    'March-2017', 'Jan2016' (the payment-history files), and the browse-notes layout's ISO
    dates and date-times ('2011-12-29', '2006-05-23 05:00', '2006-05-23T05:00:07.250', a real
    day and time of day). A two-digit year goes to the century that keeps it at or before
    `latest_year` (an integer expression), so 'Feb-02' is 2002 and 'Oct-62' on a 2015 loan is
    1962. Null for anything else and outside the years lc_earliest_year() to
    lc_latest_year(). The same rule as ingest.events.parse_lc_month.

    Two regular expressions a value: which form it is. A named form's letters are its month
    and its digits its year (lc_month_parts). Nested CASEs, not ANDs, so make_date never sees
    a month or day that does not exist. -#}
{% macro lc_month_date(expression, latest_year) -%}
    {%- set value = "trim(" ~ expression ~ ")" -%}
    {{ lc_month_from_parts(value, lc_month_letters(value), lc_month_digits(value), latest_year) }}
{%- endmacro %}

{#- A month value's parts as three select-list items `<name>_trimmed`, `<name>_letters`,
    `<name>_digits`: computed once a row by a staging model (with_month_parts), since the
    parser reads them many times and translate costs about 1 us a call on DuckDB. -#}
{% macro lc_month_parts(expression, name) -%}
    trim({{ expression }}) as {{ name }}_trimmed,
    {{ lc_month_letters("trim(" ~ expression ~ ")") }} as {{ name }}_letters,
    {{ lc_month_digits("trim(" ~ expression ~ ")") }} as {{ name }}_digits
{%- endmacro %}

{% macro lc_month_letters(value) -%}
    translate({{ value }}, '0123456789-', '')
{%- endmacro %}

{% macro lc_month_digits(value) -%}
    translate(lower({{ value }}), 'abcdefghijklmnopqrstuvwxyz-', '')
{%- endmacro %}

{#- lc_month_date from a trimmed value and its letters and digits (expressions or columns). -#}
{% macro lc_month_from_parts(value, letters, digits, latest_year) -%}
    {%- set named = text_matches(
        value,
        "[A-Za-z]{3,9}-([0-9]{2}|[0-9]{4})|([0-9]{2}|[0-9]{4})-[A-Za-z]{3,9}|[A-Za-z]{3,9}[0-9]{4}"
    ) -%}
    {%- set iso = text_matches(
        value,
        "[0-9]{4}-[0-9]{2}-[0-9]{2}([ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]+)?)?)?"
    ) -%}
    {%- set named_year -%}
        case
            when length({{ digits }}) = 4 then cast({{ digits }} as integer)
            when 2000 + cast({{ digits }} as integer) <= {{ latest_year }}
                then 2000 + cast({{ digits }} as integer)
            else 1900 + cast({{ digits }} as integer)
        end
    {%- endset -%}
    {%- set iso_year = "cast(left(" ~ value ~ ", 4) as integer)" -%}
    {%- set iso_month = "cast(substr(" ~ value ~ ", 6, 2) as integer)" -%}
    {%- set iso_start = "make_date(" ~ iso_year ~ ", " ~ iso_month ~ ", 1)" -%}
    case
        when {{ iso }} then
            case
                when {{ iso_year }} between {{ lc_earliest_year() }} and {{ lc_latest_year() }}
                    and {{ iso_month }} between 1 and 12
                    then
                        case
                            when cast(substr({{ value }}, 9, 2) as integer) between 1 and extract(
                                day from {{ iso_start }} + interval '1 month' - interval '1 day'
                            ) then {{ iso_start }}
                        end
            end
        when {{ named }} then
            case
                when ({{ named_year }}) between {{ lc_earliest_year() }} and {{ lc_latest_year() }}
                    then make_date({{ named_year }}, {{ lc_month_number(letters) }}, 1)
            end
    end
{%- endmacro %}

{#- A loan id: 1 to 18 ASCII digits -> bigint, else null (the decoder refuses other ids;
    this guards rows landed before it did). -#}
{% macro lc_loan_id(expression) -%}
    case
        when {{ text_matches(expression, "[0-9]{1,18}") }} then cast({{ expression }} as bigint)
    end
{%- endmacro %}
