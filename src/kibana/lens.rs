//! Small builders for Lens visualizations (Kibana 8.9 `formBased` datasource).
//!
//! A [`Layer`] collects columns (buckets and metrics) on one data view; a [`Lens`] puts one
//! layer into a visualization shape (`lnsXY`, `lnsPie`, `lnsMetric`, `lnsDatatable`) with a KQL
//! query. [`Lens::attributes`] returns the Lens attributes object that a by-value dashboard
//! panel embeds, with the layer's data view reference named
//! `indexpattern-datasource-layer-<layerId>` as Kibana expects.
//!
//! Column and layer ids are derived from the panel's key, so they are stable across runs.

use super::id::uuid5;
use serde_json::{json, Value};

/// Name of the reference a layer's data view gets inside the Lens attributes.
pub fn layer_ref_name(layer_id: &str) -> String {
    format!("indexpattern-datasource-layer-{layer_id}")
}

/// One datasource layer: columns on the shared data view.
#[derive(Debug, Clone)]
pub struct Layer {
    pub id: String,
    ns: [u8; 16],
    next: usize,
    /// Bucketed columns first (in insertion order), then metrics; a metric's hidden helper
    /// columns (counter_rate's max) follow it.
    buckets: Vec<(String, Value)>,
    metrics: Vec<(String, Value)>,
}

/// How a terms column orders its buckets.
#[derive(Debug, Clone, Copy)]
pub enum Order<'a> {
    /// By a metric column, descending.
    Desc(&'a str),
    /// By a metric column, ascending.
    Asc(&'a str),
    /// Alphabetically.
    Alphabetical,
}

impl Layer {
    /// A layer whose ids derive from `key` (unique per panel).
    pub fn new(key: &str) -> Layer {
        let ns = super::id::uuid5_bytes(&super::id::wirebeat_namespace(), key);
        Layer { id: uuid5(&ns, "layer"), ns, next: 0, buckets: Vec::new(), metrics: Vec::new() }
    }

    fn next_id(&mut self) -> String {
        let id = uuid5(&self.ns, &format!("column-{}", self.next));
        self.next += 1;
        id
    }

    fn bucket(&mut self, col: Value) -> String {
        let id = self.next_id();
        self.buckets.push((id.clone(), col));
        id
    }

    fn metric(&mut self, col: Value) -> String {
        let id = self.next_id();
        self.metrics.push((id.clone(), col));
        id
    }

    /// `@timestamp` histogram with an automatic interval.
    pub fn date_histogram(&mut self) -> String {
        self.bucket(json!({
            "label": "@timestamp",
            "dataType": "date",
            "operationType": "date_histogram",
            "sourceField": "@timestamp",
            "isBucketed": true,
            "scale": "interval",
            "params": {"interval": "auto", "includeEmptyRows": true, "dropPartials": false},
        }))
    }

    /// Top `size` values of `field`. `data_type` is Lens's type of the field: `string`,
    /// `number`, `ip`, `boolean` or `date`.
    pub fn terms(
        &mut self,
        field: &str,
        data_type: &str,
        size: u32,
        order: Order<'_>,
        label: &str,
    ) -> String {
        let (order_by, direction) = match order {
            Order::Desc(c) => (json!({"type": "column", "columnId": c}), "desc"),
            Order::Asc(c) => (json!({"type": "column", "columnId": c}), "asc"),
            Order::Alphabetical => (json!({"type": "alphabetical", "fallback": false}), "asc"),
        };
        self.bucket(json!({
            "label": label,
            "customLabel": true,
            "dataType": data_type,
            "operationType": "terms",
            "sourceField": field,
            "isBucketed": true,
            "scale": "ordinal",
            "params": {
                "size": size,
                "orderBy": order_by,
                "orderDirection": direction,
                "otherBucket": true,
                "missingBucket": false,
                "parentFormat": {"id": "terms"},
                "include": [],
                "exclude": [],
                "includeIsRegex": false,
                "excludeIsRegex": false,
            },
        }))
    }

    /// One bucket per KQL filter, in the order given: `(label, query)`.
    pub fn filters(&mut self, filters: &[(&str, &str)]) -> String {
        let list: Vec<Value> = filters
            .iter()
            .map(|(label, q)| json!({"label": label, "input": {"query": q, "language": "kuery"}}))
            .collect();
        self.bucket(json!({
            "label": "Filters",
            "dataType": "string",
            "operationType": "filters",
            "isBucketed": true,
            "scale": "ordinal",
            "params": {"filters": list},
        }))
    }

    /// Count of documents, optionally restricted by a KQL filter.
    pub fn count(&mut self, label: &str, filter: Option<&str>) -> String {
        let mut col = json!({
            "label": label,
            "customLabel": true,
            "dataType": "number",
            "operationType": "count",
            "sourceField": "___records___",
            "isBucketed": false,
            "scale": "ratio",
            "params": {"emptyAsNull": true},
        });
        add_filter(&mut col, filter);
        self.metric(col)
    }

    /// A field metric: `op` is `sum`, `max`, `min`, `average`, `median` or `unique_count`.
    /// `min`/`max` of a date field give a date column (`data_type` "date").
    pub fn field_metric(
        &mut self,
        op: &str,
        field: &str,
        data_type: &str,
        label: &str,
        filter: Option<&str>,
    ) -> String {
        let mut col = json!({
            "label": label,
            "customLabel": true,
            "dataType": data_type,
            "operationType": op,
            "sourceField": field,
            "isBucketed": false,
            "scale": "ratio",
            "params": {"emptyAsNull": true},
        });
        add_filter(&mut col, filter);
        self.metric(col)
    }

    /// Sum of a numeric field.
    pub fn sum(&mut self, field: &str, label: &str, filter: Option<&str>) -> String {
        self.field_metric("sum", field, "number", label, filter)
    }

    /// Maximum of a numeric field.
    pub fn max(&mut self, field: &str, label: &str) -> String {
        self.field_metric("max", field, "number", label, None)
    }

    /// Number of distinct values of a field.
    pub fn unique_count(&mut self, field: &str, label: &str) -> String {
        self.field_metric("unique_count", field, "number", label, None)
    }

    /// Per-second rate of a monotonic counter (handles resets), from the maximum per bucket.
    /// Needs a date histogram in the layer.
    pub fn counter_rate(&mut self, field: &str, label: &str) -> String {
        let rate = self.next_id();
        let max = self.next_id();
        self.metrics.push((
            rate.clone(),
            json!({
                "label": label,
                "customLabel": true,
                "dataType": "number",
                "operationType": "counter_rate",
                "isBucketed": false,
                "scale": "ratio",
                "references": [max],
                "timeScale": "s",
            }),
        ));
        self.metrics.push((
            max,
            json!({
                "label": format!("Maximum of {field}"),
                "dataType": "number",
                "operationType": "max",
                "sourceField": field,
                "isBucketed": false,
                "scale": "ratio",
                "params": {"emptyAsNull": false},
            }),
        ));
        rate
    }

    /// The layer as Lens stores it in `datasourceStates.formBased.layers.<id>`.
    pub fn state(&self) -> Value {
        let mut columns = serde_json::Map::new();
        let mut order = Vec::new();
        for (id, col) in self.buckets.iter().chain(self.metrics.iter()) {
            columns.insert(id.clone(), col.clone());
            order.push(Value::String(id.clone()));
        }
        json!({
            "columns": columns,
            "columnOrder": order,
            "incompleteColumns": {},
            "sampling": 1,
        })
    }
}

fn add_filter(col: &mut Value, filter: Option<&str>) {
    if let (Some(q), Some(obj)) = (filter, col.as_object_mut()) {
        obj.insert("filter".into(), json!({"query": q, "language": "kuery"}));
    }
}

/// Series shape of an XY chart.
#[derive(Debug, Clone, Copy)]
pub enum Series {
    Line,
    Area,
    BarStacked,
    Bar,
    BarHorizontal,
}

impl Series {
    fn name(self) -> &'static str {
        match self {
            Series::Line => "line",
            Series::Area => "area_stacked",
            Series::BarStacked => "bar_stacked",
            Series::Bar => "bar",
            Series::BarHorizontal => "bar_horizontal",
        }
    }
}

/// A Lens visualization with one layer.
#[derive(Debug, Clone)]
pub struct Lens {
    pub title: String,
    pub visualization_type: &'static str,
    pub layer: Layer,
    pub visualization: Value,
    /// KQL applied to the whole visualization.
    pub query: String,
}

impl Lens {
    /// XY chart: `x` bucket, metric `accessors`, optional `split` bucket.
    pub fn xy(
        title: &str,
        query: &str,
        layer: Layer,
        series: Series,
        x: &str,
        accessors: &[String],
        split: Option<&str>,
    ) -> Lens {
        let mut l = json!({
            "layerId": layer.id,
            "layerType": "data",
            "seriesType": series.name(),
            "xAccessor": x,
            "accessors": accessors,
            "position": "top",
            "showGridlines": false,
        });
        if let (Some(s), Some(obj)) = (split, l.as_object_mut()) {
            obj.insert("splitAccessor".into(), Value::String(s.to_owned()));
        }
        let visualization = json!({
            "legend": {"isVisible": true, "position": "right"},
            "valueLabels": "hide",
            "fittingFunction": "None",
            "preferredSeriesType": series.name(),
            "axisTitlesVisibilitySettings": {"x": true, "yLeft": true, "yRight": true},
            "tickLabelsVisibilitySettings": {"x": true, "yLeft": true, "yRight": true},
            "gridlinesVisibilitySettings": {"x": true, "yLeft": true, "yRight": true},
            "layers": [l],
        });
        Lens::new(title, "lnsXY", query, layer, visualization)
    }

    /// Donut: `groups` buckets (outer ring last), one metric.
    pub fn donut(title: &str, query: &str, layer: Layer, groups: &[String], metric: &str) -> Lens {
        let visualization = json!({
            "shape": "donut",
            "layers": [{
                "layerId": layer.id,
                "layerType": "data",
                "primaryGroups": groups,
                "metrics": [metric],
                "numberDisplay": "percent",
                "categoryDisplay": "default",
                "legendDisplay": "default",
                "nestedLegend": false,
            }],
        });
        Lens::new(title, "lnsPie", query, layer, visualization)
    }

    /// Single big number.
    pub fn metric(title: &str, query: &str, layer: Layer, metric: &str) -> Lens {
        let visualization = json!({
            "layerId": layer.id,
            "layerType": "data",
            "metricAccessor": metric,
        });
        Lens::new(title, "lnsMetric", query, layer, visualization)
    }

    /// Table of the given columns, optionally sorted by one of them.
    pub fn table(
        title: &str,
        query: &str,
        layer: Layer,
        columns: &[String],
        sort: Option<(&str, &str)>,
    ) -> Lens {
        let cols: Vec<Value> =
            columns.iter().map(|c| json!({"columnId": c, "isTransposed": false})).collect();
        let mut visualization = json!({
            "layerId": layer.id,
            "layerType": "data",
            "columns": cols,
        });
        if let (Some((c, dir)), Some(obj)) = (sort, visualization.as_object_mut()) {
            obj.insert("sorting".into(), json!({"columnId": c, "direction": dir}));
        }
        Lens::new(title, "lnsDatatable", query, layer, visualization)
    }

    fn new(
        title: &str,
        visualization_type: &'static str,
        query: &str,
        layer: Layer,
        visualization: Value,
    ) -> Lens {
        Lens {
            title: title.to_owned(),
            visualization_type,
            layer,
            visualization,
            query: query.to_owned(),
        }
    }

    /// The Lens attributes object (what a by-value panel embeds and a `lens` saved object
    /// holds), referring to data view `data_view_id`.
    pub fn attributes(&self, data_view_id: &str) -> Value {
        let mut layers = serde_json::Map::new();
        layers.insert(self.layer.id.clone(), self.layer.state());
        json!({
            "title": self.title,
            "description": "",
            "visualizationType": self.visualization_type,
            "type": "lens",
            "references": [{
                "type": "index-pattern",
                "id": data_view_id,
                "name": layer_ref_name(&self.layer.id),
            }],
            "state": {
                "visualization": self.visualization,
                "query": {"query": self.query, "language": "kuery"},
                "filters": [],
                "datasourceStates": {"formBased": {"layers": layers}},
                "internalReferences": [],
                "adHocDataViews": {},
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_orders_buckets_before_metrics_and_keeps_ids_stable() {
        let mut l = Layer::new("test:panel");
        let c = l.count("Events", None);
        let t = l.terms("source.ip", "ip", 5, Order::Desc(&c), "Source");
        let s = l.state();
        let order: Vec<&str> =
            s["columnOrder"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        assert_eq!(order, vec![t.as_str(), c.as_str()]);
        assert_eq!(s["columns"][&t]["params"]["orderBy"]["columnId"], c.as_str());
        let mut again = Layer::new("test:panel");
        assert_eq!(again.count("Events", None), c);
        assert_eq!(again.id, l.id);
    }

    #[test]
    fn counter_rate_references_a_hidden_max_column() {
        let mut l = Layer::new("test:rate");
        l.date_histogram();
        let r = l.counter_rate("wirebeat.stats.packets_received", "Packets/s");
        let s = l.state();
        let max = s["columns"][&r]["references"][0].as_str().unwrap_or_default().to_owned();
        assert_eq!(s["columns"][&max]["operationType"], "max");
        assert_eq!(s["columns"][&max]["sourceField"], "wirebeat.stats.packets_received");
    }
}
