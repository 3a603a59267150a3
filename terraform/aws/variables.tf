variable "region" {
  description = "AWS region of the fleet."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Prefix of every resource's name."
  type        = string
  default     = "agentload"
}

variable "vpc_id" {
  description = "VPC the master and the workers run in."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets for the workers (the master takes the first)."
  type        = list(string)
}

variable "ami_id" {
  description = "A Debian 12 or Ubuntu 24.04 AMI (x86_64)."
  type        = string
}

variable "master_instance_type" {
  description = "Instance type of the Locust master (it only aggregates the workers' reports)."
  type        = string
  default     = "c7i.large"
}

variable "worker_instance_type" {
  description = "Instance type of the workers; one Locust worker process runs per vCPU."
  type        = string
  default     = "c7i.2xlarge"
}

variable "worker_count" {
  description = "Worker instances (the auto-scaling group's desired size)."
  type        = number
  default     = 4
}

variable "worker_max" {
  description = "Upper bound of the auto-scaling group."
  type        = number
  default     = 50
}

variable "allowed_cidr" {
  description = "The only CIDR that may reach the master's web UI (8089), e.g. your office's /32."
  type        = string

  validation {
    condition     = var.allowed_cidr != "0.0.0.0/0"
    error_message = "allowed_cidr must not be the whole internet: the web UI starts load with your key."
  }
}

variable "key_name" {
  description = "EC2 key pair for SSH (null: no SSH key)."
  type        = string
  default     = null
}

variable "repo_url" {
  description = "Git URL of agentload that the instances install from."
  type        = string
}

variable "repo_ref" {
  description = "Branch, tag or commit to install."
  type        = string
  default     = "main"
}

variable "api_key_ssm_parameter" {
  description = "Name of the SSM SecureString holding OPENAI_API_KEY (read by the workers at boot; never in user data)."
  type        = string
  default     = ""
}

variable "locust_args" {
  description = "Extra options for the master, e.g. \"--host https://api.openai.com --strategy ws,http-stateless\"."
  type        = string
  default     = ""
}
