"""Score a file: upload a customer table -> the pipeline's checks, features and scoring."""

from __future__ import annotations

import app_state
import streamlit as st

from customer_segmentation.core.contract import CustomerDataError, containers
from customer_segmentation.params import as_model
from customer_segmentation.serving import evidence, monitoring, uploads

st.title("Score a customer file")
store, model = app_state.require_model()
bundle = model.bundle
limit_mb = float(st.get_option("server.maxUploadSize"))
st.markdown(
    "Upload an export in the layout of the Kaggle customer-personality table (comma, tab, "
    "semicolon or pipe separated text, gzip/bz2/xz/zip compressed or not, an Excel workbook or "
    "Parquet; the 29 columns, of which the campaign flags are optional). "
    "It goes through the same parsing, validation and feature code as `kedro run`, then the "
    f"selected model (`{bundle.version}`) assigns every valid customer a segment. Rejected rows "
    f"are listed with their reason. Files up to {limit_mb:,.0f} MB."
)


def download(what: str, table, suffix: str, key: str) -> None:
    """A CSV download of ``table``, named after the uploaded file; the CSV is written when the
    button is pressed, not on every rerun.
    """
    st.download_button(
        f"Download {what} (CSV)",
        lambda: table.to_csv(index=False).encode("utf-8"),
        file_name=f"{upload.name.rsplit('.', 1)[0]}_{suffix}.csv",
        mime="text/csv",
        on_click="ignore",
        key=key,
    )


upload = st.file_uploader("Customer table", type=list(containers.FILE_SUFFIXES), key="upload")
if upload is None:
    st.stop()

key = (upload.file_id, bundle.version)
cached = st.session_state.get("scored_upload")
if cached is None or cached[0] != key:
    try:
        with st.spinner(f"Scoring {upload.name}… (uploads are scored one after another)"):
            result = uploads.score_upload(
                upload.getvalue(),
                upload.name,
                bundle,
                store.params["data_processing"],
                limit_mb,
                store.app.upload_workers,
            )
    except (CustomerDataError, uploads.UploadWorkerError) as error:
        st.session_state.pop("scored_upload", None)
        st.error(f"This file cannot be scored. {error}", icon=":material/block:")
        st.stop()
    drift = None
    if not result.scored.empty:
        with st.spinner("Comparing the file with the model's training data…"):
            drift = monitoring.upload_drift(
                result.scored,
                model.optional("drift_reference"),
                as_model("monitoring", store.params["monitoring"]).drift,
                model.dataset("customer_segments"),
            )
    st.session_state["scored_upload"] = (key, result, drift)
else:
    result, drift = cached[1], cached[2]

report = result.report
st.caption(f"Read as {containers.describe(report)}.")
c1, c2, c3, c4 = st.columns(4)
c1.metric("Rows in the file", f"{report['rows_in']:,}")
c2.metric("Scored", f"{len(result.scored):,}")
c3.metric("Rejected", f"{report['rows_rejected']:,}")
flagged = int((result.scored["outside_training_range"] != "").sum())
c4.metric("Outside the training range", f"{flagged:,}", help="Scored, but flagged")

if result.scored.empty:
    st.warning("No row passed the checks; see the rejected rows below.")
else:
    st.subheader("Segment distribution")
    st.bar_chart(result.distribution.set_index("name")["customers"], horizontal=True)
    st.dataframe(
        result.distribution,
        hide_index=True,
        column_config={"share": st.column_config.NumberColumn(format="percent")},
    )
    st.subheader("Drift against the training data")
    if drift is None:
        st.info(
            evidence.not_available(
                "Drift against the training data", model.version, monitoring.DRIFT_NODES
            ),
            icon=":material/info:",
        )
    else:
        st.markdown(f"**{drift.summary['sentence']}**")
        st.caption(
            "Per feature: the population stability index (PSI) over the training quantile bins "
            "gives the verdict; the Kolmogorov-Smirnov statistic is a second effect size, its "
            "p-value only support (large files make every p-value small)."
        )
        st.dataframe(
            drift.features[list(monitoring.DRIFT_FEATURE_COLUMNS)],
            hide_index=True,
            column_config={
                "psi": st.column_config.NumberColumn("PSI", format="%.3f"),
                "ks_statistic": st.column_config.NumberColumn("KS statistic", format="%.3f"),
                "ks_pvalue": st.column_config.NumberColumn("KS p-value", format="%.2g"),
                "mean_training": st.column_config.NumberColumn("mean (training)", format="%.2f"),
                "mean_new": st.column_config.NumberColumn("mean (this file)", format="%.2f"),
                "standardised_mean_shift": st.column_config.NumberColumn(
                    "shift (training SDs)", format="%.2f"
                ),
            },
            key="drift_features_table",
        )
        test = drift.summary["segment_test"]
        st.caption(
            f"Segment shares against training: chi-square {test['chi2']:,.1f} ({test['dof']} df, "
            f"p = {test['pvalue']:.2g}), Cramér's V {test['cramers_v']:.2f}: {test['verdict']}."
        )
        st.dataframe(
            monitoring.drift_segment_table(drift, bundle.segment_names()),
            hide_index=True,
            column_config={
                "share_training": st.column_config.NumberColumn(
                    "share (training)", format="percent"
                ),
                "share_new": st.column_config.NumberColumn("share (this file)", format="percent"),
                "share_change": st.column_config.NumberColumn("change", format="percent"),
                "count_new": "customers (this file)",
            },
            key="drift_segments_table",
        )
        moves = drift.summary["moves"]
        if moves is not None:
            st.caption(
                f"{moves['matched']:,} customers of this file have an ID of the training "
                f"table; {moves['changed']:,} ({moves['changed_share']:.1%}) of them are now in "
                "another segment than in training."
            )

    shown = store.app.preview_rows
    st.subheader("Scored customers")
    if len(result.scored) > shown:
        st.caption(f"The first {shown:,} of {len(result.scored):,} rows; the download has all.")
    st.dataframe(result.scored.head(shown), hide_index=True, key="scored_table")
    download("the scored table", result.scored, f"segments_{bundle.version}", "download")

if len(result.rejected):
    st.subheader(f"Rejected rows ({len(result.rejected):,})")
    st.dataframe(
        result.rejected.value_counts("reason_code").rename("rows").reset_index(),
        hide_index=True,
    )
    first = ["source_row", "ID", "reason_code", "reason"]
    rest = [c for c in result.rejected.columns if c not in first]
    st.dataframe(
        result.rejected[first + rest].head(store.app.preview_rows),
        hide_index=True,
        key="rejected_table",
    )
    download("the rejected rows", result.rejected, "rejected", "download_rejected")
with st.expander("Data quality report"):
    st.json(report)
