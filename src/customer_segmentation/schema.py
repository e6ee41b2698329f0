"""Column names of the Kaggle customer-personality table and of the engineered features.

One place for the names the pipeline, the app and the tests agree on.
"""

from __future__ import annotations

ID = "ID"
DATE_COLUMN = "Dt_Customer"

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

# The 29 columns of the Kaggle export, in its order.
KAGGLE_COLUMNS: tuple[str, ...] = (
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

# Engineered features (see customer_segmentation.features).
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
