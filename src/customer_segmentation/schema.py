"""Column names of the Kaggle customer-personality table and of the engineered features.

One place for the names the pipeline, the app and the tests agree on.
"""

from __future__ import annotations

ID = "ID"
# The segment a customer belongs to, in every table that holds one.
SEGMENT = "segment"
DATE_COLUMN = "Dt_Customer"
# Who a customer is beyond ID: from Year_Birth and Dt_Customer, which never change for one
# customer (core.features.customer_key). In customer_features, the model input and
# customer_segments, so that two versions' customers under one ID can be checked to be the same.
CUSTOMER_KEY = "customer_key"

SPEND_COLUMNS: tuple[str, ...] = (
    "MntWines",
    "MntFruits",
    "MntMeatProducts",
    "MntFishProducts",
    "MntSweetProducts",
    "MntGoldProds",
)
PURCHASE_COLUMNS: tuple[str, ...] = (
    "NumDealsPurchases",
    "NumWebPurchases",
    "NumCatalogPurchases",
    "NumStorePurchases",
)
CHANNEL_COLUMNS: tuple[str, ...] = (
    "NumWebPurchases",
    "NumCatalogPurchases",
    "NumStorePurchases",
)
CAMPAIGN_COLUMNS: tuple[str, ...] = (
    "AcceptedCmp1",
    "AcceptedCmp2",
    "AcceptedCmp3",
    "AcceptedCmp4",
    "AcceptedCmp5",
)
FLAG_COLUMNS: tuple[str, ...] = (*CAMPAIGN_COLUMNS, "Complain", "Response")
CONSTANT_COLUMNS: tuple[str, ...] = ("Z_CostContact", "Z_Revenue")

CATEGORY_COLUMNS: tuple[str, ...] = ("Education", "Marital_Status")

# Whole numbers a customer row must have.
REQUIRED_INTEGER_COLUMNS: tuple[str, ...] = (
    "Year_Birth",
    "Kidhome",
    "Teenhome",
    "Recency",
    *SPEND_COLUMNS,
    *PURCHASE_COLUMNS,
    "NumWebVisitsMonth",
)

# Everything the pipeline needs; a file without one of these is refused.
REQUIRED_COLUMNS: tuple[str, ...] = (
    ID,
    "Year_Birth",
    "Education",
    "Marital_Status",
    "Income",
    "Kidhome",
    "Teenhome",
    DATE_COLUMN,
    "Recency",
    *SPEND_COLUMNS,
    *PURCHASE_COLUMNS,
    "NumWebVisitsMonth",
)
# Present in the Kaggle export, used when there, assumed 0 (and reported) when absent.
OPTIONAL_COLUMNS: tuple[str, ...] = (*FLAG_COLUMNS, *CONSTANT_COLUMNS)

# The 29 columns of the Kaggle export, in its order: the required ones first.
KAGGLE_COLUMNS: tuple[str, ...] = (
    *REQUIRED_COLUMNS,
    "AcceptedCmp3",
    "AcceptedCmp4",
    "AcceptedCmp5",
    "AcceptedCmp1",
    "AcceptedCmp2",
    "Complain",
    *CONSTANT_COLUMNS,
    "Response",
)

EDUCATION_LEVELS: tuple[str, ...] = ("Basic", "2n Cycle", "Graduation", "Master", "PhD")
MARITAL_STATUSES: tuple[str, ...] = (
    "Single",
    "Together",
    "Married",
    "Divorced",
    "Widow",
    "Alone",
    "Absurd",
    "YOLO",
)

# Columns of the export that customer_features carries as they are.
RAW_FEATURE_COLUMNS: tuple[str, ...] = (
    "Income",
    "Recency",
    *SPEND_COLUMNS,
    *PURCHASE_COLUMNS,
    "NumWebVisitsMonth",
    "Kidhome",
    "Teenhome",
)

# Engineered features (see customer_segmentation.core.features).
ENGINEERED_FEATURES: tuple[str, ...] = (
    "Age",
    "Total_Spending",
    "Tenure_Days",
    "Tenure_Months",
    "Children",
    "Is_Parent",
    "Adults",
    "Family_Size",
    "Total_Purchases",
    "Avg_Spend_Per_Purchase",
    "Web_Share",
    "Store_Share",
    "Catalog_Share",
    "Deal_Share",
    "Total_Campaigns_Accepted",
    "Education_Level",
)

# Every column of customer_features but ID: what parameters may name as a feature.
FEATURE_COLUMNS: tuple[str, ...] = (*RAW_FEATURE_COLUMNS, *ENGINEERED_FEATURES)

# Columns the segment-naming rules read (their z-scores must be in the profile).
NAMING_COLUMNS: tuple[str, ...] = (
    "Income",
    "Total_Spending",
    "Age",
    "Recency",
    "NumWebPurchases",
    "NumStorePurchases",
    "NumWebVisitsMonth",
    "NumDealsPurchases",
    "Children",
)

# What the naming rules can call a segment's behaviour (segments.behaviour); each needs a label
# and an action in clustering.naming.behaviours.
BEHAVIOURS: tuple[str, ...] = (
    "multi_channel_spenders",
    "store_loyal_spenders",
    "online_spenders",
    "low_activity",
    "lapsing",
    "web_browsers",
    "online_shoppers",
    "store_shoppers",
    "low_spenders",
    "mainstream",
)
