"""The self-contained HTML segmentation report: ``report.py`` prepares the data,
``template.html.j2`` lays it out.
"""

# Where the model version's stamp goes in the report; ``datasets.HtmlReportDataset`` writes it
# in when saving (a node cannot know the save version, the dataset does).
RUN_STAMP = "@@RUN_STAMP@@"
