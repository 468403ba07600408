{#- Which rows a data test reads. Rows never change once a build has staged or rebuilt them,
    so the column tests read only the rows the latest build wrote (by `staged_at`, or
    `last_staged_at` on per-loan models), not the whole book every micro-batch: in
    `dbt build`, the rows this build wrote; in `dbt test`, the latest build's rows. dbt_project.yml sets `where: latest_build` on all tests; this is
    dbt's documented hook for a `where` that needs macros (a placeholder resolved here).
    Whole-table checks stay whole: `unique` (a duplicate may pair a new row with an old
    one), models without such a column (aggregate marts, views), and every test when
    `--vars '{test_whole_book: true}'` is passed (the scheduled full check). -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where == 'latest_build' -%}
        {%- set where = latest_build_filter(relation) -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{% macro latest_build_filter(relation) -%}
    {%- set test_name = model.get('test_metadata', {}).get('name') -%}
    {%- if not execute or var('test_whole_book', false) or test_name == 'unique' -%}
        {{ return('') }}
    {%- endif -%}
    {#- The tested model's columns as documented (every column is): no query per test. -#}
    {%- set tested = graph.nodes.get(model.get('attached_node') or '', {}) -%}
    {%- set names = tested.get('columns', {}).keys() | list -%}
    {#- Equality: a build stamps every row it writes with its start time (staged_at_now),
        and an equality is estimated selective even before Postgres has table statistics,
        so the staged_at index is used right after a full build. -#}
    {%- for column in ['staged_at', 'last_staged_at'] if column in names -%}
        {%- if flags.WHICH == 'build' -%}
            {#- Models run before their tests: what this build wrote carries its start time. -#}
            {{ return(column ~ ' = ' ~ staged_at_now()) }}
        {%- else -%}
            {#- `dbt test` after `dbt run`: the batch the latest build wrote. -#}
            {{ return(column ~ ' = (select max(' ~ column ~ ') from ' ~ relation ~ ')') }}
        {%- endif -%}
    {%- endfor -%}
    {{ return('') }}
{%- endmacro %}
