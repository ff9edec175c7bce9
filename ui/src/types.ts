// The shapes the backend answers with (crates/hilum-app). Coordinates are
// patient LPS millimetres; voxel indices only travel with them.

export type Plane = "axial" | "coronal" | "sagittal";
export type Projection = "thin" | "mip" | "minip";
export type Vec3 = [number, number, number];

export interface Affine {
  origin: Vec3;
  col_step: Vec3;
  row_step: Vec3;
  slice_step: Vec3;
}

export interface SeriesInfo {
  series_instance_uid: string;
  number: number | null;
  description: string;
  modality: string;
  slices: number;
  dims: Vec3;
  spacing_mm: Vec3;
  affine: Affine;
  orientation: Record<Plane, [string, string, string, string]>;
  problems: string[];
  chest_ct: boolean;
}

export interface StudyInfo {
  study_instance_uid: string;
  patient_name: string;
  patient_id: string;
  study_date: string;
  description: string;
  series: SeriesInfo[];
}

export interface Opened {
  studies: StudyInfo[];
  study: StudyInfo;
  series: SeriesInfo;
  errors: string[];
  warnings: string[];
  load_ms: number;
  renderer: string;
}

export interface ViewRequest {
  plane: Plane;
  slice: number;
  projection: Projection;
  slab: number;
  level: number;
  width: number;
}

export interface Frame {
  width: number;
  height: number;
  rgba: Uint8ClampedArray<ArrayBuffer>;
}

export type Kind = "solid" | "part-solid" | "ground-glass" | "calcified";
export type Lobe = "RUL" | "RML" | "RLL" | "LUL" | "LLL";
export type Status = "pending" | "accepted" | "rejected";

export interface Finding {
  id: number;
  source: "detector" | "clinician";
  status: Status;
  edited: boolean;
  center_lps_mm: Vec3;
  diameter_mm: number;
  long_axis_mm: number;
  short_axis_mm: number;
  volume_mm3: number | null;
  kind: Kind;
  solid_diameter_mm: number | null;
  lobe: Lobe | null;
  confidence: number | null;
  lung_rads: string;
  slice_index: number;
  mean_hu: number | null;
}

export interface Review {
  study_instance_uid: string;
  series_instance_uid: string;
  findings: Finding[];
  detection: { device: string; detector: string; seconds: number; candidates: number } | null;
  report_text: string | null;
}

export interface DetectionStatus {
  running: boolean;
  stage: string;
  fraction: number;
  error: string | null;
  finished: boolean;
  device: string;
}

export interface ReportView {
  text: string;
  edited: boolean;
  generated: string;
  lung_rads: string;
  management: string;
  accepted: number;
}

export interface Probe {
  voxel: Vec3;
  lps_mm: Vec3;
  hu: number;
}

export interface Recent {
  path: string;
  patient_name: string;
  patient_id: string;
  study_date: string;
}
