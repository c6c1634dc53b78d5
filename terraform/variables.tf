# tfdoc:file:description Input variables, in alphabetical order.

variable "cors_allowed_origins" {
  description = "Browser origins, such as https://maps.example.com, allowed to call render_http from JavaScript. Leave empty to send no CORS headers."
  type        = list(string)
  default     = []
  nullable    = false
  validation {
    condition     = alltrue([for origin in var.cors_allowed_origins : can(regex("^https?://[^/*]+$", origin))])
    error_message = "Give each origin as scheme and host with no path or wildcard, for example https://maps.example.com."
  }
}

variable "earth_engine_high_volume" {
  description = "Send Earth Engine calls to the high-volume endpoint (earthengine-highvolume.googleapis.com), which suits automated traffic such as batch renders. See https://developers.google.com/earth-engine/cloud/highvolume."
  type        = bool
  default     = false
  nullable    = false
}

variable "earth_engine_project_id" {
  description = "Cloud project registered for Earth Engine and charged for its calls. Defaults to project_id. The runtime service accounts get their Earth Engine role and Service Usage Consumer on this project."
  type        = string
  default     = null
  validation {
    condition     = var.earth_engine_project_id == null || can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.earth_engine_project_id))
    error_message = "Use a project ID (6 to 30 lowercase letters, digits or hyphens, starting with a letter), not a project name or number."
  }
}

variable "extra_render_buckets" {
  description = "Existing buckets, besides the render bucket this configuration creates, that a request may name as its destination. Each function that stores renders gets object create rights on them."
  type        = list(string)
  default     = []
  nullable    = false
  validation {
    condition     = alltrue([for bucket in var.extra_render_buckets : can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", bucket))])
    error_message = "Give bucket names only (3 to 63 lowercase letters, digits, dots, hyphens or underscores), without a gs:// prefix."
  }
}

variable "functions" {
  description = "Sizing of each function: CPU count, memory (for example 512Mi or 1Gi), timeout in seconds, requests served at once by one instance, and the instance range. Omitted fields keep their defaults."
  type = object({
    chat_google = optional(object({
      cpu             = optional(number, 1)
      memory          = optional(string, "512Mi")
      timeout_seconds = optional(number, 60)
      concurrency     = optional(number, 8)
      min_instances   = optional(number, 0)
      max_instances   = optional(number, 5)
    }), {})
    chat_slack = optional(object({
      cpu             = optional(number, 1)
      memory          = optional(string, "512Mi")
      timeout_seconds = optional(number, 60)
      concurrency     = optional(number, 8)
      min_instances   = optional(number, 0)
      max_instances   = optional(number, 5)
    }), {})
    render_http = optional(object({
      cpu             = optional(number, 1)
      memory          = optional(string, "1Gi")
      timeout_seconds = optional(number, 60)
      concurrency     = optional(number, 8)
      min_instances   = optional(number, 0)
      max_instances   = optional(number, 10)
    }), {})
    render_pubsub = optional(object({
      cpu             = optional(number, 1)
      memory          = optional(string, "1Gi")
      timeout_seconds = optional(number, 300)
      concurrency     = optional(number, 4)
      min_instances   = optional(number, 0)
      max_instances   = optional(number, 10)
    }), {})
    render_storage = optional(object({
      cpu             = optional(number, 1)
      memory          = optional(string, "1Gi")
      timeout_seconds = optional(number, 300)
      concurrency     = optional(number, 4)
      min_instances   = optional(number, 0)
      max_instances   = optional(number, 10)
    }), {})
  })
  default  = {}
  nullable = false
  validation {
    condition     = alltrue([for config in values(var.functions) : can(regex("^[1-9][0-9]*(Mi|Gi)$", config.memory))])
    error_message = "Give memory as a whole number with Mi or Gi, for example 512Mi or 2Gi."
  }
  validation {
    condition     = alltrue([for config in values(var.functions) : config.concurrency == 1 || config.cpu >= 1])
    error_message = "A function that serves more than one request at a time needs cpu of 1 or more; raise cpu or set concurrency to 1."
  }
  validation {
    condition     = alltrue([for config in values(var.functions) : config.concurrency >= 1 && config.concurrency <= 1000])
    error_message = "Set concurrency between 1 and 1000."
  }
  validation {
    condition     = alltrue([for config in values(var.functions) : config.min_instances >= 0 && config.max_instances >= max(1, config.min_instances)])
    error_message = "Set min_instances to 0 or more and max_instances to at least 1 and at least min_instances."
  }
  validation {
    condition     = alltrue([for config in values(var.functions) : config.timeout_seconds >= 1 && config.timeout_seconds <= 3600])
    error_message = "Set timeout_seconds between 1 and 3600."
  }
  validation {
    # Event deliveries time out after 540 seconds on Cloud Functions, and a Pub/Sub push
    # acknowledgement deadline cannot exceed 600 seconds.
    condition     = var.functions.render_pubsub.timeout_seconds <= 540 && var.functions.render_storage.timeout_seconds <= 540
    error_message = "Event functions (render_pubsub, render_storage) allow timeout_seconds up to 540; lower it."
  }
}

variable "invokers" {
  description = "Principals allowed to call each HTTP function, keyed by entry point (render_http, chat_google, chat_slack), for example { render_http = [\"group:mappers@example.com\"] }. Use public_access, not this variable, for unauthenticated callers."
  type        = map(list(string))
  default     = {}
  nullable    = false
  validation {
    condition     = alltrue([for name in keys(var.invokers) : contains(["render_http", "chat_google", "chat_slack"], name)])
    error_message = "Key invokers by an HTTP entry point: render_http, chat_google or chat_slack."
  }
  validation {
    condition     = alltrue(flatten([for members in values(var.invokers) : [for member in members : can(regex("^(user|group|serviceAccount|domain|principal|principalSet):.+$", member))]]))
    error_message = "Give each invoker as type:identity, for example user:ana@example.com or serviceAccount:app@project.iam.gserviceaccount.com. allUsers and allAuthenticatedUsers belong in public_access."
  }
}

variable "labels" {
  description = "Labels added to every function, bucket, topic and subscription."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "log_level" {
  description = "Lowest severity the functions log: DEBUG, INFO, WARNING or ERROR."
  type        = string
  default     = "INFO"
  nullable    = false
  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "Set log_level to DEBUG, INFO, WARNING or ERROR."
  }
}

variable "max_delivery_attempts" {
  description = "Deliveries of one render request message before it moves to the dead-letter topic. Pub/Sub accepts 5 to 100."
  type        = number
  default     = 5
  nullable    = false
  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "Set max_delivery_attempts between 5 and 100, the range Pub/Sub accepts."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name; keep it short because service account IDs allow 30 characters."
  type        = string
  default     = "eerender"
  nullable    = false
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,12}[a-z0-9]$", var.name_prefix))
    error_message = "Use 2 to 14 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "project_id" {
  description = "Cloud project that hosts the functions, buckets and topics."
  type        = string
  nullable    = false
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "Use a project ID (6 to 30 lowercase letters, digits or hyphens, starting with a letter), not a project name or number."
  }
}

variable "propagation_delay" {
  description = "Wait after enabling APIs and granting service agents before functions are created, because both take effect with a delay on a new project. A duration in seconds, such as 90s."
  type        = string
  default     = "90s"
  nullable    = false
  validation {
    condition     = can(regex("^[0-9]+s$", var.propagation_delay))
    error_message = "Give the delay in seconds with an s suffix, for example 90s."
  }
}

variable "public_access" {
  description = "HTTP functions that accept calls without Google credentials (allUsers as invoker). chat_slack needs this because Slack cannot send Google ID tokens; the code then checks Slack's request signature. Anyone can call a public function, and each call spends Earth Engine quota and Cloud Functions time billed to this project."
  type = object({
    functions        = optional(set(string), [])
    accept_cost_risk = optional(bool, false)
  })
  default  = {}
  nullable = false
  validation {
    condition     = alltrue([for name in var.public_access.functions : contains(["render_http", "chat_google", "chat_slack"], name)])
    error_message = "Only HTTP entry points can be public: render_http, chat_google or chat_slack."
  }
  validation {
    condition     = length(var.public_access.functions) == 0 || var.public_access.accept_cost_risk
    error_message = "Anyone on the internet can call a public function, and every call runs Earth Engine computations and function instances billed to this project. Set public_access.accept_cost_risk = true to confirm, and cap the cost with functions.<name>.max_instances and an Earth Engine quota."
  }
}

variable "region" {
  description = "Region of the functions and buckets, for example us-central1. The request bucket must share the function's region for its trigger. See https://cloud.google.com/functions/docs/locations."
  type        = string
  default     = "us-central1"
  nullable    = false
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "Use a region name such as us-central1 or europe-west4, not a zone or a multi-region."
  }
}

variable "render_retention_days" {
  description = "Days a stored render is kept before Cloud Storage deletes it."
  type        = number
  default     = 30
  nullable    = false
  validation {
    condition     = var.render_retention_days >= 1 && floor(var.render_retention_days) == var.render_retention_days
    error_message = "Set render_retention_days to a whole number of days, 1 or more."
  }
}

variable "request_retention_days" {
  description = "Days an uploaded render request object (and each older version of it) is kept."
  type        = number
  default     = 7
  nullable    = false
  validation {
    condition     = var.request_retention_days >= 1 && floor(var.request_retention_days) == var.request_retention_days
    error_message = "Set request_retention_days to a whole number of days, 1 or more."
  }
}

variable "runtime" {
  description = "Python runtime of the functions."
  type        = string
  default     = "python312"
  nullable    = false
  validation {
    condition     = contains(["python311", "python312"], var.runtime)
    error_message = "Set runtime to python311 or python312, the versions the code is tested with."
  }
}

variable "secrets" {
  description = "Secret Manager secrets, keyed by the environment variable they fill, for example { EE_API_KEY = \"eerender-ee-api-key\" }. Create each secret and add a version before applying; the values never pass through Terraform state."
  type        = map(string)
  default     = {}
  nullable    = false
  validation {
    condition     = alltrue([for name in keys(var.secrets) : contains(["EE_API_KEY"], name)])
    error_message = "Key secrets by an environment variable the code reads from Secret Manager: EE_API_KEY."
  }
  validation {
    condition     = alltrue([for secret in values(var.secrets) : can(regex("^[A-Za-z0-9_-]{1,255}$", secret))])
    error_message = "Give the secret ID only (letters, digits, hyphens, underscores), not its full resource name or a version."
  }
}

variable "shared_service_account" {
  description = "Run every function as one service account instead of one account per function. One account is simpler to audit; one per function keeps a compromised function from using the others' grants."
  type        = bool
  default     = false
  nullable    = false
}

variable "signed_urls" {
  description = "Let functions answer with V4 signed URLs of stored renders. Each runtime service account then gets Service Account Token Creator on itself, to sign, and object read on the render buckets, because a signed URL acts with the signer's rights."
  type        = bool
  default     = false
  nullable    = false
}
