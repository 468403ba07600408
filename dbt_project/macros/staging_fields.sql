{#- The payload fields staging parses, one entry each: the payload key, the typed column it
    becomes (default: the key), its parser (macros/lendingclub_parsing.sql) and the cleaning
    flag set when a value is present but unreadable or out of range (none where a field has
    its own quality column, like dti). The staging models parse and flag from this list and
    data_quality_issues counts from it, so a parsing rule lives in one place. `stage` 2
    fields are parsed after stage 1 (a credit line's two-digit year is bounded by the loan's
    own issue year). -#}

{% macro application_fields() %}
    {{ return([
        {'key': 'loan_amnt', 'parser': 'number'},
        {'key': 'funded_amnt', 'parser': 'number'},
        {'key': 'term', 'column': 'term_months', 'parser': 'term'},
        {'key': 'int_rate', 'parser': 'number'},
        {'key': 'installment', 'parser': 'number'},
        {'key': 'emp_length', 'column': 'emp_length_years', 'parser': 'emp_length'},
        {'key': 'annual_inc', 'parser': 'number'},
        {'key': 'issue_d', 'column': 'issue_date', 'parser': 'month',
         'latest_year': 'extract(year from landed_at)', 'flag': 'issue_date_unparseable'},
        {'key': 'dti', 'column': 'dti_reported', 'parser': 'number', 'flag': none},
        {'key': 'delinq_2yrs', 'parser': 'integer'},
        {'key': 'earliest_cr_line', 'column': 'earliest_cr_line_date', 'parser': 'month',
         'latest_year': 'coalesce(extract(year from issue_date), extract(year from landed_at))',
         'stage': 2},
        {'key': 'fico_range_low', 'parser': 'integer'},
        {'key': 'fico_range_high', 'parser': 'integer'},
        {'key': 'inq_last_6mths', 'parser': 'integer'},
        {'key': 'mths_since_last_delinq', 'parser': 'integer'},
        {'key': 'open_acc', 'parser': 'integer'},
        {'key': 'pub_rec', 'parser': 'integer'},
        {'key': 'revol_bal', 'parser': 'number'},
        {'key': 'revol_util', 'parser': 'number'},
        {'key': 'total_acc', 'parser': 'integer'},
        {'key': 'mort_acc', 'parser': 'integer'},
        {'key': 'pub_rec_bankruptcies', 'parser': 'integer'},
    ]) }}
{% endmacro %}

{#- Application fields staged as the export's text. -#}
{% macro application_text_fields() %}
    {{ return([
        'grade', 'sub_grade', 'emp_title', 'home_ownership', 'verification_status', 'purpose',
        'title', 'zip_code', 'addr_state', 'application_type',
    ]) }}
{% endmacro %}

{% macro performance_fields() %}
    {{ return([
        {'key': 'total_pymnt', 'parser': 'number'},
        {'key': 'total_rec_prncp', 'parser': 'number'},
        {'key': 'recoveries', 'parser': 'number'},
        {'key': 'collection_recovery_fee', 'parser': 'number'},
        {'key': 'out_prncp', 'parser': 'number'},
        {'key': 'last_pymnt_d', 'column': 'last_pymnt_date', 'parser': 'month',
         'latest_year': 'extract(year from landed_at)'},
        {'key': 'last_pymnt_amnt', 'parser': 'number'},
    ]) }}
{% endmacro %}

{#- A payment-history month (payload version 2; keys are the PMTHIST columns in lower case). -#}
{% macro loan_month_fields() %}
    {{ return([
        {'key': 'mob', 'column': 'reported_months_on_book', 'parser': 'integer'},
        {'key': 'issueddate', 'column': 'reported_issue_date', 'parser': 'month',
         'latest_year': 'extract(year from landed_at)'},
        {'key': 'pbal_beg_period', 'column': 'balance_begin', 'parser': 'number'},
        {'key': 'pbal_end_period', 'column': 'balance_end', 'parser': 'number'},
        {'key': 'due_amt', 'column': 'amount_due', 'parser': 'number'},
        {'key': 'received_amt', 'column': 'amount_received', 'parser': 'number'},
        {'key': 'received_d', 'column': 'received_date', 'parser': 'month',
         'latest_year': 'extract(year from landed_at)'},
        {'key': 'prncp_paid', 'column': 'principal_paid', 'parser': 'number'},
        {'key': 'int_paid', 'column': 'interest_paid', 'parser': 'number'},
        {'key': 'fee_paid', 'parser': 'number'},
        {'key': 'co', 'column': 'charged_off_flag', 'parser': 'integer'},
        {'key': 'coamt', 'column': 'charged_off_amount', 'parser': 'number'},
    ]) }}
{% endmacro %}

{#- Texts that mean "no value" for a field besides the empty string. -#}
{% macro field_missing_texts(field) -%}
    {{ return(['n/a'] if field.parser == 'emp_length' else []) }}
{%- endmacro %}

{% macro field_column(field) -%}
    {{ return(field.get('column', field.key)) }}
{%- endmacro %}

{% macro field_flag(field) -%}
    {{ return(field.get('flag', field.key ~ '_unparseable')) }}
{%- endmacro %}

{#- The typed value of a field, from its `<key>_text` column. -#}
{% macro parse_field(field) -%}
    {%- set text = field.key ~ '_text' -%}
    {%- if field.parser == 'number' -%} {{ lc_number(text) }}
    {%- elif field.parser == 'integer' -%} {{ lc_integer(text) }}
    {%- elif field.parser == 'term' -%} {{ lc_term_months(text) }}
    {%- elif field.parser == 'emp_length' -%} {{ lc_emp_length_years(text) }}
    {%- elif field.parser == 'month' -%}
        {{ lc_month_from_parts(
            field.key ~ '_trimmed', field.key ~ '_letters', field.key ~ '_digits',
            field.latest_year
        ) }}
    {%- else -%} {{ exceptions.raise_compiler_error('unknown parser ' ~ field.parser) }}
    {%- endif -%}
{%- endmacro %}

{#- True when the field had a value (not empty, not a "no value" text) that did not parse. -#}
{% macro flag_field(field) -%}
    {%- set missing = field_missing_texts(field) -%}
    coalesce(
        {{ field_column(field) }} is null
        and trim({{ field.key }}_text) <> ''
        {%- if missing %}
        and lower(trim({{ field.key }}_text)) not in ('{{ missing | join("', '") }}')
        {%- endif %},
        false
    )
{%- endmacro %}

{#- `relation` (a CTE of `<key>_text` columns) with the parts of each month field of
    `field_list` that lc_month_from_parts reads, computed once a row: SQL evaluates an
    expression each time it is written, and the month parser reads its parts a dozen times
    (inline, they cost 27 us a month value on DuckDB, most of a payment-history month's
    staging). Select from it before parsed_columns. `offset 0` keeps Postgres from pulling
    the subquery up into its reader, which would write the parts inline again (translate
    costs 2 us a call there: staging 4 million history months took over 12 minutes). -#}
{% macro with_month_parts(relation, field_list) -%}
    select
        *
        {%- for field in field_list if field.parser == 'month' %},
        {{ lc_month_parts(field.key ~ '_text', field.key) }}
        {%- endfor %}
    from {{ relation }}
    offset 0
{%- endmacro %}

{#- `field_list` parsed into typed columns (those of `stage`), as select-list items. -#}
{% macro parsed_columns(field_list, stage=1) -%}
    {%- for field in field_list if field.get('stage', 1) == stage %}
        {{ parse_field(field) }} as {{ field_column(field) }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- One cleaning flag per field of `field_list` that has one, as select-list items. -#}
{% macro flag_columns(field_list) -%}
    {%- for field in field_list if field_flag(field) %}
        {{ flag_field(field) }} as {{ field_flag(field) }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}
