variable "name" {
  description = "Prefix of every resource's name."
  type        = string
  default     = "messenger"
}

variable "vpc_id" {
  description = "The VPC to run in."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets of the load balancer (at least two zones)."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Subnets of the servers, the database and Redis (at least two zones)."
  type        = list(string)
}

variable "image" {
  description = "The messenger image, for instance ghcr.io/example/messenger:0.1.0."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate of the public host name, for the load balancer's HTTPS listener."
  type        = string
}

variable "desired_count" {
  description = "Servers to run (two or more: live events cross servers through Redis)."
  type        = number
  default     = 2
}

variable "task_cpu" {
  description = "CPU units of one server (1024 = one vCPU)."
  type        = number
  default     = 1024
}

variable "task_memory" {
  description = "Memory of one server, in MiB."
  type        = number
  default     = 2048
}

variable "db_instance_class" {
  description = "RDS instance class of PostgreSQL."
  type        = string
  default     = "db.t4g.medium"
}

variable "db_allocated_storage" {
  description = "PostgreSQL storage in GiB (grows automatically up to ten times this)."
  type        = number
  default     = 50
}

variable "db_multi_az" {
  description = "A standby PostgreSQL in a second zone."
  type        = bool
  default     = true
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t4g.small"
}

variable "cors_origins" {
  description = "MESSENGER_CORS_ORIGINS: browser origins allowed to call the API from other sites."
  type        = string
  default     = ""
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
